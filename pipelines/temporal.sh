#!/usr/bin/env bash
# Temporal stability of deraining, with sapnetderain's temporal mode off and on: `sapnet
# eval-video` (warping error of Lai et al. 2018, PSNR/SSIM against the clean clip) on
#   street  vtest.avi (opencv-doc) at 384x288 with rainsim rain: a still camera, people walking;
#   pan     aero3.jpg (opencv-doc) seen through a 320x240 window moving 5 px right and 8 px down
#           per frame, with rainsim rain: a moving camera;
#   real    ../shared/data/NTURain-real-ra1 (real rain, no clean clip: the output's own warping
#           error, motion measured on the output), at 320x240; skipped when absent.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") [OPTIONS]
Prints a table (or --json) of PSNR/SSIM and warping error for each clip: rainy, derained, derained
with temporal=S, clean. The rain is rainsim's with a fixed seed: every run measures the same clips.
  --frames N     frames per clip (default 20; at most 30)
  --strength S   the temporal mode's strength (default 0.6)
  --model FILE   model file (default: the bundled model)
  --keep DIR     keep the clips' frames in DIR (default: a temporary folder, removed)
  --json         one JSON object per clip instead of the table
  -h, --help     this help
EOF
}

frames=20 strength=0.6 model="" keep="" json=""
while [ $# -gt 0 ]; do
  case $1 in
    --frames) frames=$2; shift 2 ;;
    --strength) strength=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --json) json=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done
[[ $frames =~ ^[0-9]+$ ]] && [ "$frames" -ge 2 ] && [ "$frames" -le 30 ] || die "--frames: 2 to 30"
data=/usr/share/doc/opencv-doc/examples/data
[ -f $data/vtest.avi ] && [ -f $data/aero3.jpg ] || die "needs opencv-doc's example data (apt-get install opencv-doc)"
sapnet=${SAPNET_BUILD_DIR:-$root/build}/training/sapnet
work=${keep:-$(mktemp -d)}
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
rain="density=0.004 angle=10 length=25 opacity=0.5 seed=1"

say() { echo "temporal: $*" >&2; }
# rainy/ from clean/ with rainsim (frame i gets seed 1's rain for frame i).
add_rain() {
  gst-launch-1.0 -q multifilesrc location="$1/clean/%04d.png" index=0 stop-index=$((frames - 1)) \
    caps=image/png,framerate=25/1 ! pngdec ! videoconvert ! video/x-raw,format=RGB ! \
    rainsim $rain ! pngenc ! multifilesink location="$1/rainy/%04d.png"
}

say "making the clips in $work"
mkdir -p "$work"/street/{clean,rainy} "$work"/pan/{clean,rainy}
gst-launch-1.0 -q filesrc location=$data/vtest.avi ! decodebin ! videoconvert ! videoscale ! \
  video/x-raw,format=RGB,width=384,height=288 ! framelimit frames="$frames" ! pngenc ! \
  multifilesink location="$work/street/clean/%04d.png"
for ((k = 0; k < frames; k++)); do
  l=$((5 * k)) t=$((8 * k))
  gst-launch-1.0 -q filesrc location=$data/aero3.jpg ! jpegdec ! videoconvert ! \
    videocrop left=$l top=$t right=$((640 - 320 - l)) bottom=$((480 - 240 - t)) ! videoconvert ! \
    video/x-raw,format=RGB ! pngenc ! filesink location="$(printf '%s/pan/clean/%04d.png' "$work" $k)"
done
add_rain "$work/street"
add_rain "$work/pan"

model_args=()
[ -n "$model" ] && model_args=(--model "$model")
# One clip, mode off and on: eval-video's table with a row for the mode added, or (--json) one
# object holding eval-video's two.
measure() {
  local name=$1; shift
  say "$name: deraining $frames frames, temporal off and on"
  if [ -n "$json" ]; then
    local off on
    off=$(quietly "$sapnet" eval-video "$@" --limit "$frames" --json "${model_args[@]}")
    on=$(quietly "$sapnet" eval-video "$@" --limit "$frames" --json --temporal "$strength" "${model_args[@]}")
    printf '{"clip": "%s", "temporal": %s, "off": %s, "on": %s}\n' "$name" "$strength" "$off" "$on"
    return
  fi
  echo "== $name"
  quietly "$sapnet" eval-video "$@" --limit "$frames" "${model_args[@]}"
  quietly "$sapnet" eval-video "$@" --limit "$frames" --temporal "$strength" "${model_args[@]}" |
    sed -n "s/^$(printf '%-20s' derained)/$(printf '%-20s' "temporal=$strength")/p"
}
measure street "$work/street/rainy" --clean "$work/street/clean"
measure pan "$work/pan/rainy" --clean "$work/pan/clean"
real=${SAPNET_SHARED_DIR:-$root/../shared}/data/NTURain-real-ra1/frames
if [ -d "$real" ]; then
  measure real "$real" --max-side 320
else
  say "real: $real is absent, skipped"
fi
