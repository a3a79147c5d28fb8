#!/usr/bin/env bash
# Run HERE, before a GPU session's first device call: gathers in .device/ (git-ignored) what
# tests/gpu/device-check.sh needs on the GPU machine, where ../shared is absent and no package
# registry is reachable: Debian's GStreamer/GLib/GoogleTest/CLI11/JSON/libpng packages, the
# environment script, the authors' weights, Rain100L's pairs and the PyTorch reference script.
# Everything that travels stays under the 64 MiB a device call may carry (checked at the end).
# Usage: tests/gpu/prepare.sh [--prebuilt DIR] [--table5] [RAIN100L_PAIRS]
#   RAIN100L_PAIRS   default 50: 25 MB of PNGs; 100 needs two calls
#   --prebuilt DIR   a CUDA build made here (meson setup DIR -Dtorch_prefix=/opt/torch-cuda/...
#                    -Dopencv=disabled): the programs device-check.sh runs, stripped, travel in
#                    .device/build-gpu and save the build there (minutes of device time)
#   --table5         also gather issue 18's Table 5 data in .device-t5, for a call of its own
#                    (carry .device-t5; command: source .device/env.sh; tests/gpu/device-check.sh table5)
#   --lean           with --prebuilt and 0 pairs: the development packages (headers, for a build
#                    there) wait in .device-spare, so that .device and .device-t5 travel in ONE call
#                    (62 MiB; every step but eval, train and a build there; with table5 the call
#                    needs most of its 10 minutes: leave out reference)
set -euo pipefail
cd "$(dirname "$0")/../.."
prebuilt="" table5=0 pairs=50 lean=0
while [ $# -gt 0 ]; do
  case $1 in
    --prebuilt) prebuilt=${2:?--prebuilt needs a build folder}; shift 2 ;;
    --table5) table5=1; shift ;;
    --lean) lean=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) pairs=$1; shift ;;
  esac
done
shared=${SAPNET_SHARED_DIR:-../shared}
[ -d "$shared/device" ] || { echo "prepare: $shared/device is absent" >&2; exit 1; }
grep -qx '/.device/' .gitignore || { echo "prepare: .gitignore must ignore /.device/" >&2; exit 1; }
mkdir -p .device
# sapnetderain on CUDA memory (device-check.sh cudamem): GStreamer's CUDA library with its headers,
# the nvcodec plugin (cudaupload, cudadownload, nvh264dec, nvh264enc where the GPU has them), its GL
# library and the GL/X11/Wayland/GBM libraries that one loads, GL's headers (cudaGL.h includes
# GL/gl.h), h264parse (in the bad plugins) and x264enc to make a test clip (H100 and H200 have no
# NVENC). About 7 MB of .deb files; the unpacked tree stays on the GPU machine, not here. The H200
# machine's GL stack also asked for libGLESv2.so.2 (libgles2) when GStreamer's CUDA library loaded.
cuda_debs=(libgstreamer-plugins-bad1.0-dev libgstreamer-plugins-bad1.0-0 gstreamer1.0-plugins-bad
  libgstreamer-gl1.0-0 libgl-dev libgl1 libglvnd0 libglx0 libegl1 libwayland-client0
  libwayland-cursor0 libwayland-egl1 libwayland-server0 libx11-6 libx11-xcb1 libxcb1 libxau6
  libxdmcp6 libbsd0 libmd0 libdrm2 libgbm1 libexpat1 libudev1 gstreamer1.0-plugins-ugly libx264-164
  libgles2 libopengl0)
if [ ! -d .device/debs ] || [ -z "$(ls .device/debs 2>/dev/null)" ]; then
  [ -f /var/lib/apt/lists/lock ] || apt-get update -qq
  "$shared/device/fetch-debs.sh" .device/debs libcli11-dev nlohmann-json3-dev libpng-dev libpng16-16 \
    "${cuda_debs[@]}"
else
  missing=()
  for p in "${cuda_debs[@]}"; do
    ls .device/debs/"${p}"_*.deb >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "prepare: fetching ${missing[*]}"
    (cd .device/debs && apt-get download "${missing[@]}" 2>&1 | grep -v -E '^(Get|Fetched)|unsandboxed' || true)
  fi
fi
echo "prepare: .device/debs holds $(du -sh .device/debs | cut -f1) ($(ls .device/debs | wc -l) packages)"
cp "$shared/device/env.sh" "$shared/device/pytorch_reference.py" .device/
mkdir -p .device/shared/weights/sapnet-official .device/shared/data/Rain100L
cp "$shared/weights/sapnet-official/Model11_net_latest.pth" .device/shared/weights/sapnet-official/
# The first N pairs by number (rain-N / norain-N or input/ + target/, as the folder holds them).
src="$shared/data/Rain100L"
rm -rf .device/shared/data/Rain100L/*
if [ "$pairs" = 0 ]; then
  rmdir .device/shared/data/Rain100L  # eval and train say the pairs are absent
elif [ -d "$src/input" ]; then
  mkdir -p .device/shared/data/Rain100L/input .device/shared/data/Rain100L/target
  ls "$src/input" | sort -V | head -n "$pairs" | while read -r f; do
    cp "$src/input/$f" .device/shared/data/Rain100L/input/
    cp "$src/target/$f" .device/shared/data/Rain100L/target/
  done
else
  ls "$src" | grep -E '^rain-[0-9]+\.png$' | sort -V | head -n "$pairs" | while read -r f; do
    cp "$src/$f" "$src/no$f" .device/shared/data/Rain100L/
  done
fi
if [ -n "$prebuilt" ]; then
  [ -x "$prebuilt/training/sapnet" ] || { echo "prepare: $prebuilt/training/sapnet is not built" >&2; exit 1; }
  grep -q 'SAPNET_WITH_CUDA=1' "$prebuilt/compile_commands.json" ||
    { echo "prepare: $prebuilt is not a CUDA build" >&2; exit 1; }
  rm -rf .device/build-gpu && mkdir -p .device/build-gpu
  # Linked programs and libraries, not objects; only the test programs device-check.sh runs.
  tar -C "$prebuilt" --exclude='*.p' --exclude=meson-private --exclude=meson-logs --exclude='*.a' \
    --exclude='.ninja_*' --exclude='*.bin' -cf - . | tar -C .device/build-gpu -xf -
  find .device/build-gpu/tests -maxdepth 1 -name 'test_*' -type f |
    grep -v -E '/test_(engine|model|frame|gst|gst_video|gst_cuda)$' | xargs -r rm -f
  find .device/build-gpu -type f | while read -r f; do
    if file -b "$f" | grep -q '^ELF'; then strip --strip-unneeded "$f"; fi
  done
  # The build's absolute paths (plugin folder, test data, bundled model) start here.
  pwd >.device/build-gpu/source-root
  prefix=$(sed -n 's/.*"torch_prefix", "value": "\([^"]*\)".*/\1/p' "$prebuilt/meson-info/intro-buildoptions.json" | head -1)
  [ -n "$prefix" ] || prefix=$(grep -o -m1 '/[^ ]*/torch/include' "$prebuilt/compile_commands.json" | sed 's,/include$,,')
  sed -n "s/^__version__ = '\(.*\)'/\1/p" "$prefix/version.py" >.device/build-gpu/torch-version
  echo "prepare: .device/build-gpu holds $(du -sh .device/build-gpu | cut -f1) (torch $(cat .device/build-gpu/torch-version))"
fi
if [ "$table5" = 1 ]; then
  rm -rf .device-t5 && mkdir -p .device-t5/shared/perception .device-t5/seg
  grep -qx '/.device-t5/' .gitignore || { echo "prepare: .gitignore must ignore /.device-t5/" >&2; exit 1; }
  cp -r "$shared/perception/coco_val128" "$shared/perception/yolov5n_640.torchscript" \
    "$shared/perception/espnet_city_p2q8.torchscript" .device-t5/shared/perception/
  # jpegdec/jpegenc, pngdec and multifilesrc: the good plugins.
  # (libjpeg62-turbo travels in .device/debs already.)
  mkdir -p .device-t5/debs
  (cd .device-t5/debs && apt-get download gstreamer1.0-plugins-good 2>&1 | grep -v -E '^(Get|Fetched)|unsandboxed' || true)
  # table5.sh's default street frames (vtest.avi, one every 3 s, 384 px wide), taken here where a
  # decoder for it exists.
  video=/usr/share/doc/opencv-doc/examples/data/vtest.avi
  [ -f "$video" ] || { echo "prepare: $video is absent (apt-get install opencv-doc)" >&2; exit 1; }
  GST_PLUGIN_PATH=$PWD/${SAPNET_BUILD_DIR:-build}/gst gst-launch-1.0 -q filesrc location=$video ! decodebin ! videoconvert ! videorate ! video/x-raw,framerate=1000/3000 ! \
    videoscale ! video/x-raw,width=384,pixel-aspect-ratio=1/1 ! framelimit frames=24 ! videoconvert ! \
    video/x-raw,format=RGB ! pngenc ! multifilesink location=.device-t5/seg/%05d.png
  echo "prepare: .device-t5 holds $(du -sh .device-t5 | cut -f1) ($(ls .device-t5/seg | wc -l) street frames)"
fi
# Development packages out of (--lean) or back into what travels.
grep -qx '/.device-spare/' .gitignore || { echo "prepare: .gitignore must ignore /.device-spare/" >&2; exit 1; }
mkdir -p .device-spare
if [ "$lean" = 1 ]; then
  [ -f .device/build-gpu/source-root ] && [ "$pairs" = 0 ] ||
    { echo "prepare: --lean needs --prebuilt DIR and 0 Rain100L pairs" >&2; exit 1; }
  find .device/debs \( -name '*-dev_*.deb' -o -name '*-dev-bin_*.deb' -o -name 'googletest_*.deb' \) \
    -exec mv -t .device-spare {} +
else
  find .device-spare -name '*.deb' -exec mv -t .device/debs {} +
fi
tree_mib=$(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)
device_mib=$(du -sb .device | cut -f1)
[ "$lean" = 1 ] && [ -d .device-t5 ] && device_mib=$((device_mib + $(du -sb .device-t5 | cut -f1)))
total=$(( (tree_mib + device_mib) / 1048576 ))
echo "prepare: .device holds $(du -sh .device | cut -f1) ($pairs Rain100L pairs$([ "$lean" = 1 ] && echo ', with .device-t5')); with the tree ~${total} MiB of 64"
[ "$total" -lt 64 ] || { echo "prepare: over the 64 MiB a call carries: use fewer pairs" >&2; exit 1; }
