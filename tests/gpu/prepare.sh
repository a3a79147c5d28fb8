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
if [ ! -d .device/debs ] || [ -z "$(ls .device/debs 2>/dev/null)" ]; then
  [ -f /var/lib/apt/lists/lock ] || apt-get update -qq
  "$shared/device/fetch-debs.sh" .device/debs libcli11-dev nlohmann-json3-dev libpng-dev libpng16-16
fi
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
