#!/usr/bin/env bash
# Rain-gated passthrough, measured: sapnetderain's rain score (`sapnet rain-score`) on
#   dry     vtest.avi (opencv-doc) at 384x288, as it is;
#   light   the same frames with light rainsim rain;  rainy  with heavier rainsim rain (as temporal.sh);
#   real    ../shared/data/NTURain-real-ra1 (real rain) at 384 px, when present;
# then the time saved by skip-dry on a clip whose weather changes (dry, rainy, dry frames), with
# the frames that passed through untouched counted (their output equals their input).
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") [OPTIONS]
Prints the rain score of dry, lightly rainy and rainy frames of the demo video (and of a real rainy
clip), then the wall time of deraining a dry-rainy-dry clip with skip-dry off and on.
  --frames N       frames per part (default 12; at most 40)
  --threshold T    skip-dry's dry-threshold (default: the element's own default)
  --dry-frames N   skip-dry's dry-frames (default 3)
  --model FILE     model file (default: the bundled model)
  --keep DIR       keep the frames in DIR (default: a temporary folder, removed)
  -h, --help       this help
EOF
}

frames=12 threshold="" dry_frames=3 model="" keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --frames) frames=$2; shift 2 ;;
    --threshold) threshold=$2; shift 2 ;;
    --dry-frames) dry_frames=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done
[[ $frames =~ ^[0-9]+$ ]] && [ "$frames" -ge 2 ] && [ "$frames" -le 40 ] || die "--frames: 2 to 40"
[[ $dry_frames =~ ^[0-9]+$ ]] || die "--dry-frames: a whole number"
data=/usr/share/doc/opencv-doc/examples/data
[ -f $data/vtest.avi ] || die "needs opencv-doc's example data (apt-get install opencv-doc)"
sapnet=${SAPNET_BUILD_DIR:-$root/build}/training/sapnet
work=${keep:-$(mktemp -d)}
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
say() { echo "rain-gate: $*" >&2; }

say "making the clips in $work"
mkdir -p "$work"/{dry,light,rainy,weather,out-off,out-on}
gst-launch-1.0 -q filesrc location=$data/vtest.avi ! decodebin ! videoconvert ! videoscale ! \
  video/x-raw,format=RGB,width=384,height=288 ! framelimit frames="$frames" ! pngenc ! \
  multifilesink location="$work/dry/%04d.png"
add_rain() {  # add_rain NAME RAINSIM-PROPERTIES
  gst-launch-1.0 -q multifilesrc location="$work/dry/%04d.png" index=0 stop-index=$((frames - 1)) \
    caps=image/png,framerate=25/1 ! pngdec ! videoconvert ! video/x-raw,format=RGB ! \
    rainsim $2 ! pngenc ! multifilesink location="$work/$1/%04d.png"
}
add_rain light "density=0.002 angle=10 length=25 opacity=0.3 seed=2"
add_rain rainy "density=0.004 angle=10 length=25 opacity=0.5 seed=1"

model_args=()
[ -n "$model" ] && model_args=(--model "$model")
clips=("$work/dry" "$work/light" "$work/rainy")
real=${SAPNET_SHARED_DIR:-$root/../shared}/data/NTURain-real-ra1/frames
if [ -d "$real" ]; then clips+=("$real"); else say "real: $real is absent, skipped"; fi
say "scoring"
quietly "$sapnet" rain-score "${clips[@]}" --limit "$frames" --max-side 384 \
  ${threshold:+--threshold "$threshold"} "${model_args[@]}"

# The weather clip: dry, rainy, dry.
k=0
for part in dry rainy dry; do
  for ((i = 0; i < frames; i++, k++)); do
    cp "$(printf '%s/%s/%04d.png' "$work" $part $i)" "$(printf '%s/weather/%04d.png' "$work" $k)"
  done
done
total=$k
derain() {  # derain SKIP-DRY OUT-FOLDER: prints the wall time in seconds
  local start=$EPOCHREALTIME
  gst-launch-1.0 -q multifilesrc location="$work/weather/%04d.png" index=0 \
    stop-index=$((total - 1)) caps=image/png,framerate=25/1 ! pngdec ! videoconvert ! \
    video/x-raw,format=RGB ! sapnetderain $(model_props "$model") skip-dry="$1" \
    dry-frames="$dry_frames" ${threshold:+dry-threshold="$threshold"} ! pngenc ! \
    multifilesink location="$2/%04d.png" >&2
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}
untouched() {  # frames of the weather clip that came out byte for byte as they went in
  local n=0 f
  for ((i = 0; i < total; i++)); do
    f=$(printf '%04d.png' $i)
    cmp -s "$work/weather/$f" "$1/$f" && n=$((n + 1))
  done
  echo $n
}
say "deraining the $total-frame weather clip (dry, rainy, dry) with skip-dry off and on"
off=$(derain false "$work/out-off")
on=$(derain true "$work/out-on")
printf '\n%-10s %10s %22s\n' "skip-dry" "seconds" "frames untouched"
printf '%-10s %10s %16d of %d\n' off "$off" "$(untouched "$work/out-off")" "$total"
printf '%-10s %10s %16d of %d\n' on "$on" "$(untouched "$work/out-on")" "$total"
