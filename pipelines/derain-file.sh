#!/usr/bin/env bash
# A video file in, a derained MP4 (H.264) out.
set -euo pipefail
usage() {
  cat <<USAGE
Usage: pipelines/derain-file.sh INPUT OUTPUT.mp4 [--model FILE] [--stages N] [--width W] [--device DEV]

Decodes any video GStreamer can read, derains every frame with sapnetderain and encodes H.264 (x264)
into an MP4. --width scales the frames first (keeps the aspect ratio); --stages trades quality for speed.
USAGE
}
model="" stages=0 width="" device=auto args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --width) width=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
[ ${#args[@]} -eq 2 ] || { usage >&2; exit 2; }
source "$(dirname "$0")/common.sh"
[ -f "${args[0]}" ] || die "${args[0]}: no such file"
scale=""
[ -n "$width" ] && scale="videoscale ! video/x-raw,width=$width,pixel-aspect-ratio=1/1 !"
eval gst-launch-1.0 -e filesrc location="\"${args[0]}\"" ! decodebin ! videoconvert ! $scale \
  sapnetderain $(model_props "$model") stages=$stages device=$device ! videoconvert ! \
  x264enc speed-preset=veryfast ! mp4mux ! filesink location="\"${args[1]}\""
