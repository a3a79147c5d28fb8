#!/usr/bin/env bash
# sapnetderain on GStreamer's CUDA memory: frames stay on the GPU (element doc example).
set -euo pipefail
usage() {
  cat <<USAGE
Usage: pipelines/cuda-memory.sh [--file clip.h264|clip.mp4] [--model FILE] [--stages N] [--frames N]
                                [--device cuda|cuda:N] [--sink "autovideosink"]

Without --file: videotestsrc ! cudaupload ! sapnetderain ! cudadownload ! SINK.
With --file: filesrc ! parsebin ! nvh264dec ! sapnetderain ! cudadownload ! SINK (H.264 decoded by NVDEC).
Needs a build with the CUDA-memory part (SAPNET_BUILD_DIR=build-cuda, or a GPU machine's build),
a GPU and gstreamer1.0-plugins-bad's nvcodec elements. Not yet run on a GPU.
USAGE
}
file="" model="" stages=0 frames=300 device=cuda sink=autovideosink
while [ $# -gt 0 ]; do
  case "$1" in
    --file) file=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --frames) frames=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --sink) sink=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/common.sh"
for e in cudaupload cudadownload; do
  gst-inspect-1.0 "$e" >/dev/null 2>&1 || die "no $e element (gstreamer1.0-plugins-bad's nvcodec, a CUDA driver and a GPU)"
done
cuda='video/x-raw(memory:CUDAMemory)'
if [ -n "$file" ]; then
  [ -f "$file" ] || die "$file: no such file"
  src="filesrc location=\"$file\" ! parsebin ! nvh264dec"
else
  src="videotestsrc num-buffers=$frames ! video/x-raw,format=NV12,width=1280,height=720 ! cudaupload"
fi
eval gst-launch-1.0 $src ! "'$cuda'" ! sapnetderain $(model_props "$model") stages=$stages device=$device ! \
  "'$cuda'" ! cudadownload ! videoconvert ! $sink
