#!/usr/bin/env bash
# A rainy | derained comparison video.
set -euo pipefail
usage() {
  cat <<USAGE
Usage: pipelines/side-by-side.sh INPUT OUTPUT.mp4 [--model FILE] [--stages N] [--width W] [--rain]

Writes an MP4 whose left half is the input and right half the derained input (compositor).
--rain adds synthetic rain (rainsim) first, for footage without rain; --width is each half's width.
USAGE
}
model="" stages=0 width=320 rain="" args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --width) width=$2; shift 2 ;;
    --rain) rain="rainsim density=0.006 angle=10 seed=1 !"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
[ ${#args[@]} -eq 2 ] || { usage >&2; exit 2; }
source "$(dirname "$0")/common.sh"
[ -f "${args[0]}" ] || die "${args[0]}: no such file"
eval gst-launch-1.0 -e filesrc location="\"${args[0]}\"" ! decodebin ! videoconvert ! videoscale ! \
  video/x-raw,format=RGB,width=$width,pixel-aspect-ratio=1/1 ! $rain tee name=t \
  t. ! queue max-size-buffers=0 max-size-time=0 max-size-bytes=0 ! comp.sink_0 \
  t. ! queue ! sapnetderain $(model_props "$model") stages=$stages ! comp.sink_1 \
  compositor name=comp sink_1::xpos=$width ! videoconvert ! x264enc speed-preset=veryfast tune=zerolatency ! \
  mp4mux ! filesink location="\"${args[1]}\""
