#!/usr/bin/env bash
# The seed paper's Table 5 protocol: detection and segmentation scored on clean images, on the same
# images with synthetic rain (rainsim, fixed seed), and on the rainy images derained by sapnetderain.
set -euo pipefail
usage() {
  cat <<USAGE
Usage: pipelines/table5.sh --images DIR --detector FILE.pt --segmenter FILE.pt [options]

For each image of DIR (*.png, *.jpg, *.jpeg) and each condition, one GStreamer pipeline:
  clean:    filesrc ! decodebin ! videoconvert !                                 sapnetdetect ! sapnetsegment ! fakesink
  rainy:    filesrc ! decodebin ! videoconvert ! rainsim seed=S+i !               sapnetdetect ! sapnetsegment ! fakesink
  derained: filesrc ! decodebin ! videoconvert ! rainsim seed=S+i ! sapnetderain ! sapnetdetect ! sapnetsegment ! fakesink
sapnetdetect writes COCO results (detections-file), sapnetsegment a label PNG per image
(labels-location); 'sapnet eval-detect' and 'sapnet eval-segment' score them and a table like the
paper's Table 5 is printed (rows Clean / Rainy / Derained; columns mAP, mPA, mIoU, in %).
Image i (in name order, from 0) gets rain seed S + i: the rain differs per image and is the same on
every run.

Options:
  --images DIR            clean images (e.g. a 150-image COCO val2017 or Cityscapes val subset)
  --detector FILE.pt      TorchScript detector (see pipelines/TABLE5.md for exporting torchvision's)
  --detector-format F     torchvision (default) or yolo
  --detector-props "P"    more sapnetdetect properties, e.g. "score-threshold=0.05 input-width=640"
  --segmenter FILE.pt     TorchScript segmenter (logits 1 x C x H x W or {"out": logits})
  --segmenter-props "P"   more sapnetsegment properties, e.g. "mean=0.485,0.456,0.406 std=0.229,0.224,0.225"
  --coco-annotations GT   COCO ground truth (instances_*.json): images are matched by file_name
                          (without it no mAP; detections are still written)
  --seg-gt DIR            ground-truth label PNGs named like the images (<stem>.png, 8-bit class ids)
  --num-classes N         classes of the segmentation ground truth (needed with --seg-gt)
  --ignore ID             ground-truth id not scored (default 255)
  --model FILE            deraining model for sapnetderain (default: the bundled model)
  --derain-props "P"      more sapnetderain properties, e.g. "stages=6 device=cuda"
  --rain-props "P"        rainsim properties (default: rainsim's own), e.g. "density=0.006 angle=15"
  --seed S                rain seed (default 1)
  --device DEV            device of the detector and segmenter (auto, cpu, cuda; default auto)
  --out DIR               outputs: detections, label maps, table5.txt, table5.json (default out/table5)
USAGE
}
images="" detector="" segmenter="" det_format=torchvision det_props="" seg_props="" gt_json=""
seg_gt="" num_classes="" ignore=255 model="" derain_props="" rain_props="" seed=1 device=auto out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --images) images=$2; shift 2 ;;
    --detector) detector=$2; shift 2 ;;
    --detector-format) det_format=$2; shift 2 ;;
    --detector-props) det_props=$2; shift 2 ;;
    --segmenter) segmenter=$2; shift 2 ;;
    --segmenter-props) seg_props=$2; shift 2 ;;
    --coco-annotations) gt_json=$2; shift 2 ;;
    --seg-gt) seg_gt=$2; shift 2 ;;
    --num-classes) num_classes=$2; shift 2 ;;
    --ignore) ignore=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --derain-props) derain_props=$2; shift 2 ;;
    --rain-props) rain_props=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "table5: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/common.sh"
[ -d "$images" ] || die "--images: '$images' is not a folder"
[ -f "$detector" ] || die "--detector: '$detector': no such file"
[ -f "$segmenter" ] || die "--segmenter: '$segmenter': no such file"
[ -z "$gt_json" ] || [ -f "$gt_json" ] || die "--coco-annotations: '$gt_json': no such file"
if [ -n "$seg_gt" ]; then
  [ -d "$seg_gt" ] || die "--seg-gt: '$seg_gt' is not a folder"
  [ -n "$num_classes" ] || die "--seg-gt needs --num-classes"
fi
[[ "$seed" =~ ^[0-9]+$ ]] || die "--seed: '$seed' is not a number"
sapnet=${SAPNET_EXE:-$root/build/training/sapnet}
if [ -n "$gt_json$seg_gt" ] && [ ! -x "$sapnet" ]; then die "$sapnet: no sapnet command (build first)"; fi
out=${out:-$root/out/table5}
mkdir -p "$out"
out=$(cd "$out" && pwd)

mapfile -t files < <(find "$images" -maxdepth 1 -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' \) | LC_ALL=C sort)
[ ${#files[@]} -gt 0 ] || die "$images: no PNG or JPEG images"

# COCO image ids by file name (jq or python3), else the digits of the name (COCO's 000000397133.jpg).
declare -A ids=()
if [ -n "$gt_json" ]; then
  if command -v jq >/dev/null; then
    table=$(jq -r '.images[] | "\(.file_name)\t\(.id)"' "$gt_json")
  elif command -v python3 >/dev/null; then
    table=$(python3 -c 'import json,sys
for i in json.load(open(sys.argv[1]))["images"]: print("%s\t%s" % (i["file_name"], i["id"]))' "$gt_json")
  else
    die "reading $gt_json needs jq or python3"
  fi
  while IFS=$'\t' read -r name id; do ids[$(basename "$name")]=$id; done <<<"$table"
fi
image_id() {  # image_id NAME INDEX
  local name=$1
  if [ -n "${ids[$name]+x}" ]; then echo "${ids[$name]}"; return; fi
  [ -n "$gt_json" ] && die "$name is not an image of $gt_json"
  local digits=${name%.*}; digits=${digits//[^0-9]/}
  if [ -n "$digits" ]; then echo $((10#$digits)); else echo "$2"; fi
}

read -r -a det_extra <<<"$det_props"
read -r -a seg_extra <<<"$seg_props"
read -r -a rain_extra <<<"$rain_props"
read -r -a derain_extra <<<"$derain_props"
derain_model=()
[ -n "$model" ] && derain_model=("model-location=$model")

conditions=(clean rainy derained)
log="$out/gst.log"
: >"$log"
echo "table5: ${#files[@]} image(s), rain seed $seed, detector $(basename "$detector"), segmenter $(basename "$segmenter") -> $out"
for cond in "${conditions[@]}"; do
  rm -rf "${out:?}/$cond"
  mkdir -p "$out/$cond/detections" "$out/$cond/labels"
  for i in "${!files[@]}"; do
    f=${files[$i]} name=$(basename "${files[$i]}") stem=${name%.*}
    [ -t 2 ] && printf '\rtable5: %-8s %d/%d' "$cond" $((i + 1)) ${#files[@]} >&2
    id=$(image_id "$name" "$i")
    middle=()
    [ "$cond" != clean ] && middle+=(rainsim "seed=$((seed + i))" "${rain_extra[@]}" !)
    [ "$cond" = derained ] && middle+=(sapnetderain "${derain_model[@]}" "${derain_extra[@]}" !)
    if ! gst-launch-1.0 -q filesrc "location=$f" ! decodebin ! videoconvert ! video/x-raw,format=RGB ! \
      "${middle[@]}" \
      sapnetdetect "model-location=$detector" "output-format=$det_format" "device=$device" \
        "image-id=$id" "detections-file=$out/$cond/detections/$stem.json" "${det_extra[@]}" ! \
      sapnetsegment "model-location=$segmenter" "device=$device" \
        "labels-location=$out/$cond/labels/$stem.png" "${seg_extra[@]}" ! \
      fakesink >>"$log" 2>&1; then
      tail -n 20 "$log" >&2
      die "the $cond pipeline failed on $f (log: $log)"
    fi
  done
  # One COCO results list per condition.
  {
    printf '['
    sep=""
    for j in "$out/$cond/detections"/*.json; do
      body=$(sed -e 's/^[[:space:]]*\[//' -e 's/\][[:space:]]*$//' "$j")
      [ -n "$body" ] && { printf '%s%s' "$sep" "$body"; sep=","; }
    done
    printf ']\n'
  } >"$out/$cond/detections.json"
  [ -t 2 ] && echo >&2
  echo "table5: $cond done (${#files[@]} image(s))"
done

# json_number KEY: the number (or null) of "KEY": in a one-line JSON object on stdin.
json_number() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"; }
# Only the images that were processed are scored: a ground-truth folder of just those.
if [ -n "$seg_gt" ]; then
  rm -rf "$out/seg-gt"
  mkdir -p "$out/seg-gt"
  for f in "${files[@]}"; do
    stem=$(basename "${f%.*}")
    [ -f "$seg_gt/$stem.png" ] || die "$seg_gt/$stem.png: no ground truth for $(basename "$f")"
    ln -sf "$(cd "$seg_gt" && pwd)/$stem.png" "$out/seg-gt/$stem.png"
  done
fi
declare -A map mpa miou
for cond in "${conditions[@]}"; do
  map[$cond]=null mpa[$cond]=null miou[$cond]=null
  if [ -n "$gt_json" ]; then
    r=$("$sapnet" eval-detect --annotations "$gt_json" --detections "$out/$cond/detections.json" --json 2>>"$log") ||
      die "eval-detect failed on $cond (log: $log)"
    map[$cond]=$(json_number AP <<<"$r")
  fi
  if [ -n "$seg_gt" ]; then
    r=$("$sapnet" eval-segment --gt "$out/seg-gt" --pred "$out/$cond/labels" --num-classes "$num_classes" \
      --ignore "$ignore" --json 2>>"$log") || die "eval-segment failed on $cond (log: $log)"
    mpa[$cond]=$(json_number mPA <<<"$r")
    miou[$cond]=$(json_number mIoU <<<"$r")
  fi
done

percent() { awk -v v="$1" 'BEGIN { if (v == "null" || v < 0) printf "%10s", "-"; else printf "%10.2f", 100 * v }'; }
{
  echo "Table 5 protocol: ${#files[@]} image(s) of $images, rain seed $seed"
  printf '%-10s %10s %10s %10s\n' "" "mAP %" "mPA %" "mIoU %"
  for cond in "${conditions[@]}"; do
    label="$(tr '[:lower:]' '[:upper:]' <<<"${cond:0:1}")${cond:1}"
    printf '%-10s %s %s %s\n' "$label" "$(percent "${map[$cond]}")" "$(percent "${mpa[$cond]}")" "$(percent "${miou[$cond]}")"
  done
  [ -z "$gt_json" ] && echo "(no --coco-annotations: mAP not scored)"
  [ -z "$seg_gt" ] && echo "(no --seg-gt: mPA and mIoU not scored)"
  true
} | tee "$out/table5.txt"
{
  printf '{'
  sep=""
  for cond in "${conditions[@]}"; do
    printf '%s"%s": {"mAP": %s, "mPA": %s, "mIoU": %s}' "$sep" "$cond" "${map[$cond]}" "${mpa[$cond]}" "${miou[$cond]}"
    sep=", "
  done
  printf ', "images": %d, "seed": %d}\n' ${#files[@]} "$seed"
} >"$out/table5.json"
echo "table5: wrote $out/table5.txt and $out/table5.json"
