#!/usr/bin/env bash
# The main job: rain added to a street video with rainsim, removed with the bundled model, written
# to out/derained.mp4 and out/side-by-side.mp4 (rainy | derained).
set -euo pipefail
usage() {
  cat <<USAGE
Usage: pipelines/demo.sh [--input VIDEO] [--frames N] [--width W] [--model FILE] [--stages N] [--no-rain]
                         [--out DIR]

Installs what is missing (Debian 12), builds sapnet, then runs one GStreamer pipeline:
  VIDEO -> scale to W -> first N frames -> rainsim -> sapnetderain -> DIR/derained.mp4
                                                   \\-> compositor (rainy | derained) -> DIR/side-by-side.mp4
Default VIDEO: vtest.avi from Debian's opencv-doc (installed if missing), first 40 frames (--frames 0: all)
at width 240, into DIR=out/. Both videos hold exactly those frames at the input's frame rate.
--no-rain skips rainsim for footage that is already rainy. SAPNET_NO_BUILD=1 skips installing and
building (the plugin is then found through GST_PLUGIN_PATH, or build/gst).
USAGE
}
input="" frames=40 width=240 model="" stages=0 rain=1 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --input) input=$2; shift 2 ;;
    --frames) frames=$2; shift 2 ;;
    --width) width=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --no-rain) rain=""; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${SAPNET_NO_BUILD:-}" ]; then "$root/.ci/install-deps"; fi
if [ -z "$input" ]; then
  input=/usr/share/doc/opencv-doc/examples/data/vtest.avi
  if [ ! -f "$input" ]; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
    echo "demo: installing opencv-doc for its street video vtest.avi"
    $sudo apt-get install -y -qq --no-install-recommends opencv-doc >/dev/null
  fi
fi
[ -f "$input" ] || { echo "demo: $input: no such video" >&2; exit 2; }
if [ -z "${SAPNET_NO_BUILD:-}" ]; then
  echo "demo: building"
  "$root/.ci/build" >/dev/null
fi
source "$root/pipelines/common.sh"
out=${out:-$root/out}
mkdir -p "$out"
rainsim=""
[ -n "$rain" ] && rainsim="rainsim density=0.005 angle=12 length=16 opacity=0.7 seed=1 !"
enc="x264enc speed-preset=veryfast tune=zerolatency ! mp4mux"
unbounded="max-size-buffers=0 max-size-time=0 max-size-bytes=0"
# framelimit, not identity eos-after: identity drops frame N itself and then lets through the frame
# the decoder drains seconds of video later, which the encoders stretched into a 34 s last frame and
# the compositor padded with hundreds of repeated frames.
what="$frames frames"
[ "$frames" = 0 ] && what="all frames"  # framelimit frames=0 lets every frame through
echo "demo: $input, $what at width $width -> $out"
start=$(date +%s.%N)
eval gst-launch-1.0 -q -e filesrc location="\"$input\"" ! decodebin ! videoconvert ! videoscale ! \
  video/x-raw,format=RGB,width=$width,pixel-aspect-ratio=1/1 ! framelimit frames=$frames ! $rainsim tee name=rainy \
  rainy. ! queue $unbounded ! comp.sink_0 \
  rainy. ! queue ! sapnetderain $(model_props "$model") stages=$stages ! tee name=clean \
  clean. ! queue $unbounded ! comp.sink_1 \
  clean. ! queue $unbounded ! videoconvert ! $enc ! filesink location="\"$out/derained.mp4\"" \
  compositor name=comp sink_1::xpos=$width ! videoconvert ! $enc ! filesink location="\"$out/side-by-side.mp4\""
end=$(date +%s.%N)
echo "demo: wrote $out/derained.mp4 and $out/side-by-side.mp4"
seconds=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')
if [ "$frames" = 0 ]; then
  echo "demo: all frames in $seconds s (this machine, CPU)"
else
  fps=$(awk -v n="$frames" -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", n / (e - s) }')
  echo "demo: $frames frames in $seconds s: $fps frames per second (this machine, CPU)"
fi
