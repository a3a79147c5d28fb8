#!/usr/bin/env bash
# The real rainy clip of ../shared/data/NTURain-real-ra1, derained into an MP4.
set -euo pipefail
usage() {
  cat <<USAGE
Usage: pipelines/nturain.sh [OUTPUT.mp4] [--model FILE] [--stages N] [--avi]

Derains the 60 real rainy frames (640x480 JPEG, 25 fps assumed) read with multifilesrc, or the
MJPEG AVI with --avi, into OUTPUT (default out/nturain-derained.mp4).
USAGE
}
model="" stages=0 avi="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --avi) avi=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) out=$1; shift ;;
  esac
done
source "$(dirname "$0")/common.sh"
data="$root/../shared/data/NTURain-real-ra1"
[ -d "$data" ] || die "$data is absent"
out=${out:-$root/out/nturain-derained.mp4}
mkdir -p "$(dirname "$out")"
if [ -n "$avi" ]; then
  src="filesrc location=\"$data/ra1_rain_mjpeg.avi\" ! avidemux ! jpegdec"
else
  src="multifilesrc location=\"$data/frames/%05d.jpg\" index=1 stop-index=60 caps=image/jpeg,framerate=25/1 ! jpegdec"
fi
eval gst-launch-1.0 -e $src ! videoconvert ! sapnetderain $(model_props "$model") stages=$stages ! videoconvert ! \
  x264enc speed-preset=veryfast ! mp4mux ! filesink location="\"$out\""
echo "nturain: wrote $out"
