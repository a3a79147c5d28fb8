#!/usr/bin/env bash
# A live camera, derained, on the screen.
set -euo pipefail
usage() {
  cat <<USAGE
Usage: pipelines/camera.sh [--camera /dev/video0] [--model FILE] [--stages N] [--width W] [--device DEV]

Reads a V4L2 camera, derains it (late frames are dropped through QoS) and shows it in a window.
USAGE
}
camera=/dev/video0 model="" stages=0 width=640 device=auto
while [ $# -gt 0 ]; do
  case "$1" in
    --camera) camera=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --width) width=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/common.sh"
[ -e "$camera" ] || die "$camera: no such camera"
eval gst-launch-1.0 v4l2src device="$camera" ! videoconvert ! videoscale ! video/x-raw,width=$width,pixel-aspect-ratio=1/1 ! \
  queue leaky=downstream max-size-buffers=2 ! sapnetderain $(model_props "$model") stages=$stages device=$device ! \
  videoconvert ! autovideosink sync=false
