#!/usr/bin/env bash
# Run HERE, before a GPU session's first device call: gathers in .device/ (git-ignored) what
# tests/gpu/device-check.sh needs on the GPU machine, where ../shared is absent and no package
# registry is reachable: Debian's GStreamer/GLib/GoogleTest/CLI11/JSON/libpng packages, the
# environment script, the authors' weights, Rain100L's pairs and the PyTorch reference script.
# Everything that travels stays under the 64 MiB a device call may carry (checked at the end).
# Usage: tests/gpu/prepare.sh [RAIN100L_PAIRS]   (default 50: 25 MB of PNGs; 100 needs two calls)
set -euo pipefail
cd "$(dirname "$0")/../.."
pairs=${1:-50}
shared=${SAPNET_SHARED_DIR:-../shared}
[ -d "$shared/device" ] || { echo "prepare: $shared/device is absent" >&2; exit 1; }
grep -qx '/.device/' .gitignore || { echo "prepare: .gitignore must ignore /.device/" >&2; exit 1; }
mkdir -p .device
# sapnetderain on CUDA memory (device-check.sh cudamem): GStreamer's CUDA library with its headers,
# the nvcodec plugin (cudaupload, cudadownload, nvh264dec, nvh264enc where the GPU has them), its GL
# library and the GL/X11/Wayland/GBM libraries that one loads, GL's headers (cudaGL.h includes
# GL/gl.h), h264parse (in the bad plugins) and x264enc to make a test clip (H100 and H200 have no
# NVENC). About 7 MB of .deb files; the unpacked tree stays on the GPU machine, not here.
cuda_debs=(libgstreamer-plugins-bad1.0-dev libgstreamer-plugins-bad1.0-0 gstreamer1.0-plugins-bad
  libgstreamer-gl1.0-0 libgl-dev libgl1 libglvnd0 libglx0 libegl1 libwayland-client0
  libwayland-cursor0 libwayland-egl1 libwayland-server0 libx11-6 libx11-xcb1 libxcb1 libxau6
  libxdmcp6 libbsd0 libmd0 libdrm2 libgbm1 libexpat1 libudev1 gstreamer1.0-plugins-ugly libx264-164)
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
if [ -d "$src/input" ]; then
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
tree_mib=$(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)
device_mib=$(du -sb .device | cut -f1)
total=$(( (tree_mib + device_mib) / 1048576 ))
echo "prepare: .device holds $(du -sh .device | cut -f1) ($pairs Rain100L pairs); with the tree ~${total} MiB of 64"
[ "$total" -lt 64 ] || { echo "prepare: over the 64 MiB a call carries: use fewer pairs" >&2; exit 1; }
