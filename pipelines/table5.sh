#!/usr/bin/env bash
# The seed paper's Table 5 protocol: what deraining does for a detector and a segmenter. Images are
# scored clean, with synthetic rain (rainsim at a light and a heavy setting, fixed seeds) and after
# deraining by sapnetderain (the bundled model and the authors' released weights); by default with
# the real models and images of ../shared/perception (YOLOv5n on 128 COCO val2017 images, ESPNet
# on frames of OpenCV's street video vtest.avi).
set -euo pipefail
usage() {
  cat <<USAGE
Usage: pipelines/table5.sh [options]

Rows: clean; rainy (rainsim, per --rain setting); derained from each rainy row by each --models
entry. One GStreamer pipeline per row and task runs every image as a frame (image i, in file-name
order from 0, gets rainsim's rain for seed S and frame i: the same on every run):
  detect:  multifilesrc ! jpegdec|pngdec ! videoconvert ! [rainsim seed=S ...] ! [sapnetderain] ! sapnetdetect ! fakesink
  segment: multifilesrc ! pngdec ! videoconvert ! [rainsim seed=S ...] ! [sapnetderain] ! sapnetsegment ! fakesink
Detection: mAP (COCO AP@[.50:.95]), mAP50, mAP75 from 'sapnet eval-detect' against the COCO ground
truth. Segmentation: mIoU and mPA from 'sapnet eval-segment' against the clean frames' own class
maps (consistency with the clean prediction, not accuracy against human labels), or against
--seg-gt. Per row also the seconds per image: the pipeline's wall time (start-up included) over
its images. The table goes to the terminal and OUT/table5.txt, the numbers to OUT/table5.json.

Selection (everything by default):
  --limit N             the first N detection images and at most N segmentation frames
  --tasks LIST          detect,segment
  --rain LIST           light,heavy
  --models LIST         deraining models: bundled (the model in model/), official (the authors'
                        released weights, ../shared/weights/sapnet-official/Model11_net_latest.pth)
                        or NAME=FILE (any model sapnetderain reads); 'none' for no derained rows
  --stages N            sapnetderain stages=N (early exit: faster, less rain removed; 0: all)
Rain (rainsim properties; each image/frame i gets seed S and frame number i):
  --seed S              default 1
  --light-props "P"     default "$light_default"
  --heavy-props "P"     default "$heavy_default"
Detection:
  --images DIR          default ../shared/perception/coco_val128/images (all JPEG or all PNG)
  --coco-annotations GT default ../shared/perception/coco_val128/instances_val128_gt.json; images
                        are matched by file_name (image_id per frame)
  --detector FILE       TorchScript detector (default ../shared/perception/yolov5n_640.torchscript)
  --detector-format F   yolo (default) or torchvision
  --detector-props "P"  sapnetdetect properties (default for yolo: "$yolo_default")
  --category-map FILE   class index -> COCO category id (default for yolo: GT's categories in id
                        order; 'none': the model's class ids are category ids)
Segmentation:
  --seg-video FILE      frames taken from this video (default
                        /usr/share/doc/opencv-doc/examples/data/vtest.avi) ...
  --seg-frames N        ... this many (default 24) ...
  --seg-every SECONDS   ... one every SECONDS of video (default 3: every 30th frame of vtest.avi) ...
  --seg-width W         ... scaled to this width (default 384; 0: as they are)
  --seg-images DIR      or these images (all PNG or all JPEG, one size) instead of a video
  --segmenter FILE      TorchScript segmenter (default ../shared/perception/espnet_city_p2q8.torchscript)
  --segmenter-props "P" more sapnetsegment properties
  --seg-gt DIR          human label PNGs named like the --seg-images (<stem>.png); without it the
                        clean frames' class maps are the reference and the clean row is not scored
  --num-classes N       classes scored (default 19, Cityscapes train ids)
  --ignore ID           reference id not scored (default 19, ESPNet's void class; 255 for --seg-gt)
Output:
  --picture FILE        also draw the detections on the first segmentation frame with heavy rain
                        and on its derained version (first --models entry), side by side (JPEG)
  --picture-props "P"   sapnetdetect properties for the picture, after --detector-props
                        (default "$picture_default": the boxes a user would see)
  --json                print the JSON (not the table) on stdout
  --out DIR             default out/table5
  --device DEV          detector/segmenter device (auto, cpu, cuda; default cpu)
  --derain-props "P"    more sapnetderain properties (e.g. "device=cuda")
Environment: SAPNET_BUILD_DIR (default ./build) holds the plugin and the sapnet command.
USAGE
}
light_default="density=0.003 angle=10 length=25 width=1 opacity=0.4"
heavy_default="density=0.006 angle=15 length=35 width=1.4 opacity=0.6 haze=0.15"
yolo_default="input-width=640 input-height=640 resize=letterbox pad-value=114 score-threshold=0.001 nms-threshold=0.6 multi-label=true max-detections=300"
picture_default="score-threshold=0.25 nms-threshold=0.45 multi-label=false"
source "$(dirname "$0")/common.sh"
shared=${SAPNET_SHARED_DIR:-$root/../shared}
perception=$shared/perception

limit="" tasks="detect,segment" rains="light,heavy" models="bundled,official" stages=""
seed=1 light_props=$light_default heavy_props=$heavy_default
images=$perception/coco_val128/images gt_json=$perception/coco_val128/instances_val128_gt.json
detector=$perception/yolov5n_640.torchscript det_format=yolo det_props="" det_props_set=""
category_map="" seg_video=/usr/share/doc/opencv-doc/examples/data/vtest.avi seg_frames=24
seg_every=3 seg_width=384 seg_images="" segmenter=$perception/espnet_city_p2q8.torchscript
seg_props="" seg_gt="" num_classes=19 ignore="" picture="" picture_props=$picture_default json=0
out="" device=cpu
derain_props=""
while [ $# -gt 0 ]; do
  case "$1" in
    --limit) limit=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    --rain) rains=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --light-props) light_props=$2; shift 2 ;;
    --heavy-props) heavy_props=$2; shift 2 ;;
    --images) images=$2; shift 2 ;;
    --coco-annotations) gt_json=$2; shift 2 ;;
    --detector) detector=$2; shift 2 ;;
    --detector-format) det_format=$2; shift 2 ;;
    --detector-props) det_props=$2; det_props_set=1; shift 2 ;;
    --category-map) category_map=$2; shift 2 ;;
    --seg-video) seg_video=$2; shift 2 ;;
    --seg-frames) seg_frames=$2; shift 2 ;;
    --seg-every) seg_every=$2; shift 2 ;;
    --seg-width) seg_width=$2; shift 2 ;;
    --seg-images) seg_images=$2; shift 2 ;;
    --segmenter) segmenter=$2; shift 2 ;;
    --segmenter-props) seg_props=$2; shift 2 ;;
    --seg-gt) seg_gt=$2; shift 2 ;;
    --num-classes) num_classes=$2; shift 2 ;;
    --ignore) ignore=$2; shift 2 ;;
    --picture) picture=$2; shift 2 ;;
    --picture-props) picture_props=$2; shift 2 ;;
    --json) json=1; shift ;;
    --out) out=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --derain-props) derain_props=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "table5: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

number() { [[ "$2" =~ ^[0-9]+$ ]] || die "$1: '$2' is not a whole number"; }
[ -z "$limit" ] || { number --limit "$limit"; [ "$limit" -gt 0 ] || die "--limit must be at least 1"; }
[ -z "$stages" ] || number --stages "$stages"
number --seed "$seed"
number --seg-frames "$seg_frames"
number --seg-width "$seg_width"
number --num-classes "$num_classes"
[[ "$seg_every" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--seg-every: '$seg_every' is not a number"
[ -n "$ignore" ] || { if [ -n "$seg_gt" ]; then ignore=255; else ignore=19; fi; }
number --ignore "$ignore"
do_detect=0 do_segment=0
IFS=, read -r -a task_list <<<"$tasks"
for t in "${task_list[@]}"; do
  case "$t" in detect) do_detect=1 ;; segment) do_segment=1 ;; *) die "--tasks: unknown task '$t' (detect, segment)" ;; esac
done
IFS=, read -r -a rain_list <<<"$rains"
for r in "${rain_list[@]}"; do
  case "$r" in light|heavy) ;; *) die "--rain: unknown setting '$r' (light, heavy)" ;; esac
done
# Deraining models: names and files ("" = the bundled model).
model_names=() model_files=()
IFS=, read -r -a model_list <<<"$models"
for m in "${model_list[@]}"; do
  case "$m" in
    none) ;;
    bundled) model_names+=(bundled) model_files+=("") ;;
    official)
      f=$shared/weights/sapnet-official/Model11_net_latest.pth
      [ -f "$f" ] || die "--models official: $f is absent (the authors' released weights)"
      model_names+=(official) model_files+=("$f") ;;
    *=*)
      [ -f "${m#*=}" ] || die "--models: ${m#*=}: no such file"
      model_names+=("${m%%=*}") model_files+=("${m#*=}") ;;
    *) die "--models: '$m' is not bundled, official, none or NAME=FILE" ;;
  esac
done
build=${SAPNET_BUILD_DIR:-$root/build}
sapnet=${SAPNET_EXE:-$build/training/sapnet}
[ -x "$sapnet" ] || die "$sapnet: no sapnet command (build first, or set SAPNET_BUILD_DIR)"
command -v gst-launch-1.0 >/dev/null || die "gst-launch-1.0 is missing (apt-get install gstreamer1.0-tools)"
case "$det_format" in yolo|torchvision) ;; *) die "--detector-format: yolo or torchvision" ;; esac
if [ -z "$det_props_set" ] && [ "$det_format" = yolo ]; then det_props=$yolo_default; fi
if [ "$do_detect" = 1 ]; then
  [ -d "$images" ] || die "--images: '$images' is not a folder"
  [ -f "$gt_json" ] || die "--coco-annotations: '$gt_json': no such file"
  [ -f "$detector" ] || die "--detector: '$detector': no such file"
  if [ -z "$category_map" ] && [ "$det_format" = yolo ]; then category_map=$gt_json; fi
  [ "$category_map" = none ] && category_map=""
  [ -z "$category_map" ] || [ -f "$category_map" ] || die "--category-map: '$category_map': no such file"
fi
if [ "$do_segment" = 1 ]; then
  [ -f "$segmenter" ] || die "--segmenter: '$segmenter': no such file"
  if [ -n "$seg_images" ]; then
    [ -d "$seg_images" ] || die "--seg-images: '$seg_images' is not a folder"
  else
    [ -z "$seg_gt" ] || die "--seg-gt needs --seg-images (label PNGs named like the images)"
    [ -f "$seg_video" ] || die "--seg-video: '$seg_video': no such file (Debian: apt-get install opencv-doc)"
  fi
  [ -z "$seg_gt" ] || [ -d "$seg_gt" ] || die "--seg-gt: '$seg_gt' is not a folder"
fi
out=${out:-$root/out/table5}
mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/gst.log
: >"$log"
# A registry of its own: the plugin path differs between builds, and a shared registry cache would
# be rescanned (or stale) each time.
export GST_REGISTRY_1_0=${GST_REGISTRY_1_0:-$out/gst-registry.bin}

say() { if [ "$json" = 1 ]; then echo "$*" >&2; else echo "$*"; fi; }
read -r -a light_extra <<<"$light_props"
read -r -a heavy_extra <<<"$heavy_props"
read -r -a det_extra <<<"$det_props"
read -r -a seg_extra <<<"$seg_props"
read -r -a derain_extra <<<"$derain_props"
[ -n "$stages" ] && derain_extra+=("stages=$stages")

# link_frames SRC_DIR DEST_DIR LIMIT: DEST/00000.ext ... as links to SRC's images in name order
# (multifilesrc reads numbered files); prints the extension. Mixed JPEG/PNG folders are refused:
# one decoder reads a whole row.
link_frames() {
  local src=$1 dest=$2 max=$3 ext="" i=0 f e
  rm -rf "$dest" && mkdir -p "$dest"
  mapfile -t frame_files < <(find "$src" -maxdepth 1 -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' \) | LC_ALL=C sort)
  [ ${#frame_files[@]} -gt 0 ] || die "$src: no PNG or JPEG images"
  [ -n "$max" ] && [ "${#frame_files[@]}" -gt "$max" ] && frame_files=("${frame_files[@]:0:$max}")
  for f in "${frame_files[@]}"; do
    e=$(tr '[:upper:]' '[:lower:]' <<<"${f##*.}"); [ "$e" = jpeg ] && e=jpg
    [ -z "$ext" ] && ext=$e
    [ "$e" = "$ext" ] || die "$src: mixes JPEG and PNG images (convert them to one kind)"
    ln -s "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" "$dest/$(printf '%05d' $i).$ext"
    i=$((i + 1))
  done
  echo "$ext"
}
decoder_of() { if [ "$1" = png ]; then echo pngdec; else echo jpegdec; fi; }

# run_row LABEL FRAMES PIPELINE...: runs one gst-launch-1.0 pipeline (which holds an identity named
# tick) with a progress line on stderr; sets row_seconds.
run_row() {
  local label=$1 total=$2 start end rc
  shift 2
  start=$(date +%s.%N)
  echo "=== $label: gst-launch-1.0 $*" >>"$log"
  set +e
  gst-launch-1.0 -v "$@" 2>&1 | {
    n=0
    while IFS= read -r line; do
      case $line in
        *GstIdentity:tick*last-message*)
          n=$((n + 1))
          [ -t 2 ] && printf '\rtable5: %-28s %d/%d ' "$label" "$n" "$total" >&2 ;;
        *) printf '%s\n' "$line" >>"$log" ;;
      esac
    done
  }
  rc=${PIPESTATUS[0]}
  set -e
  end=$(date +%s.%N)
  [ -t 2 ] && printf '\r%60s\r' '' >&2
  if [ "$rc" != 0 ]; then
    grep -v 'last-message' "$log" | tail -n 15 >&2
    die "the pipeline of '$label' failed (log: $log)"
  fi
  row_seconds=$(awk -v a="$start" -v b="$end" -v n="$total" 'BEGIN { printf "%.2f", (b - a) / n }')
  echo "table5: $label: $total image(s), $row_seconds s per image" >&2
}

# Rows: "clean", "rainy-R", "derained-R-M" with their pipeline middles.
rows=(clean) row_rain=("") row_model=("")
for r in "${rain_list[@]}"; do
  rows+=("rainy-$r") row_rain+=("$r") row_model+=("")
  for k in "${!model_names[@]}"; do
    rows+=("derained-$r-${model_names[$k]}") row_rain+=("$r") row_model+=("$k")
  done
done
# middle I: the rainsim and sapnetderain elements of row I, as gst-launch arguments.
middle() {
  local i=$1
  mid=()
  [ -z "${row_rain[$i]}" ] && return
  if [ "${row_rain[$i]}" = light ]; then
    mid+=(rainsim "seed=$seed" "${light_extra[@]}" !)
  else
    mid+=(rainsim "seed=$seed" "${heavy_extra[@]}" !)
  fi
  [ -z "${row_model[$i]}" ] && return
  local f=${model_files[${row_model[$i]}]}
  mid+=(sapnetderain qos=false ${f:+"model-location=$f"} "${derain_extra[@]}" !)
}
row_title() {
  local i=$1
  case "${rows[$i]}" in
    clean) echo "Clean" ;;
    rainy-*) echo "Rainy (${row_rain[$i]})" ;;
    *) echo "Derained (${row_rain[$i]}, ${model_names[${row_model[$i]}]})" ;;
  esac
}
machine="$(nproc) CPU core(s), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
machine+=", load average $(cut -d' ' -f1 /proc/loadavg) at the start"

declare -A det_map det_map50 det_map75 det_time seg_miou seg_mpa seg_time
json_number() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"; }

# --- Detection -----------------------------------------------------------------------------------
det_images=0
if [ "$do_detect" = 1 ]; then
  ext=$(link_frames "$images" "$out/det-frames" "$limit")
  mapfile -t det_names < <(find "$out/det-frames" -maxdepth 1 -name "*.$ext" -printf '%f\n' | LC_ALL=C sort)
  det_images=${#det_names[@]}
  # Image ids by file name, from the ground truth (jq or python3).
  if command -v jq >/dev/null; then
    id_table=$(jq -r '.images[] | "\(.file_name)\t\(.id)"' "$gt_json")
  elif command -v python3 >/dev/null; then
    id_table=$(python3 -c 'import json,sys
for i in json.load(open(sys.argv[1]))["images"]: print("%s\t%s" % (i["file_name"], i["id"]))' "$gt_json")
  else
    die "reading $gt_json needs jq or python3"
  fi
  declare -A id_of=()
  while IFS=$'\t' read -r name id; do id_of[$(basename "$name")]=$id; done <<<"$id_table"
  ids="" scored_ids=()
  for n in "${det_names[@]}"; do
    name=$(basename "$(readlink "$out/det-frames/$n")")
    [ -n "${id_of[$name]+x}" ] || die "$name is not an image of $gt_json"
    ids+="${ids:+,}${id_of[$name]}"
    scored_ids+=("${id_of[$name]}")
  done
  # The ground truth of the images run (a --limit subset would otherwise count the others' objects
  # as misses).
  gt_run=$gt_json
  if [ -n "$limit" ]; then
    gt_run=$out/det-gt.json
    keep=$(IFS=,; echo "${scored_ids[*]}")
    if command -v jq >/dev/null; then
      jq -c --argjson keep "[$keep]" '.images |= map(select(.id as $i | $keep | index($i)))
        | .annotations |= map(select(.image_id as $i | $keep | index($i)))' "$gt_json" >"$gt_run"
    else
      python3 -c 'import json,sys
g=json.load(open(sys.argv[1])); k=set(int(x) for x in sys.argv[2].split(","))
g["images"]=[i for i in g["images"] if i["id"] in k]
g["annotations"]=[a for a in g["annotations"] if a["image_id"] in k]
json.dump(g, open(sys.argv[3], "w"))' "$gt_json" "$keep" "$gt_run"
    fi
  fi
  decoder=$(decoder_of "$ext")
  say "table5: detection, $det_images image(s) of $images, $(basename "$detector"), rain seed $seed -> $out"
  for i in "${!rows[@]}"; do
    row=${rows[$i]}
    middle "$i"
    mkdir -p "$out/detect"
    dt=$out/detect/$row.json
    run_row "detect $row" "$det_images" multifilesrc "location=$out/det-frames/%05d.$ext" \
      "stop-index=$((det_images - 1))" "caps=image/${ext/jpg/jpeg}" ! "$decoder" ! videoconvert ! \
      video/x-raw,format=RGB ! "${mid[@]}" \
      sapnetdetect "model-location=$detector" "output-format=$det_format" "device=$device" \
      ${category_map:+"category-map=$category_map"} "image-ids=$ids" "detections-file=$dt" \
      "${det_extra[@]}" ! identity name=tick silent=false ! fakesink sync=false
    det_time[$row]=$row_seconds
    r=$("$sapnet" eval-detect --annotations "$gt_run" --detections "$dt" --json 2>>"$log") ||
      die "eval-detect failed on $row (log: $log)"
    det_map[$row]=$(json_number AP <<<"$r")
    det_map50[$row]=$(json_number AP50 <<<"$r")
    det_map75[$row]=$(json_number AP75 <<<"$r")
  done
fi

# --- Segmentation --------------------------------------------------------------------------------
seg_images_n=0
if [ "$do_segment" = 1 ]; then
  max_frames=$seg_frames
  [ -n "$limit" ] && [ "$limit" -lt "$max_frames" ] && max_frames=$limit
  if [ -n "$seg_images" ]; then
    seg_ext=$(link_frames "$seg_images" "$out/seg-frames" "$limit")
    seg_source=$seg_images
  else
    # Frames of the video, once: one every --seg-every seconds, scaled, as PNGs.
    rm -rf "$out/seg-frames" && mkdir -p "$out/seg-frames"
    scale=()
    [ "$seg_width" != 0 ] && scale=(videoscale ! "video/x-raw,width=$seg_width,pixel-aspect-ratio=1/1" !)
    rate=$(awk -v s="$seg_every" 'BEGIN { printf "1000/%d", s * 1000 + 0.5 }')
    echo "=== frames: $seg_video" >>"$log"
    gst-launch-1.0 -q filesrc "location=$seg_video" ! decodebin ! videoconvert ! videorate ! \
      "video/x-raw,framerate=$rate" ! "${scale[@]}" framelimit "frames=$max_frames" ! videoconvert ! \
      video/x-raw,format=RGB ! pngenc ! multifilesink "location=$out/seg-frames/%05d.png" \
      >>"$log" 2>&1 || die "could not take frames of $seg_video (log: $log)"
    seg_ext=png
    seg_source="$seg_video (one frame every $seg_every s${scale:+, ${seg_width} px wide})"
  fi
  seg_images_n=$(find "$out/seg-frames" -maxdepth 1 -name "*.$seg_ext" | wc -l)
  [ "$seg_images_n" -gt 0 ] || die "no segmentation frames (log: $log)"
  seg_decoder=$(decoder_of "$seg_ext")
  if [ -n "$seg_gt" ]; then
    rm -rf "$out/seg-gt" && mkdir -p "$out/seg-gt"
    for f in "$out/seg-frames"/*."$seg_ext"; do
      src=$(readlink "$f") stem=$(basename "${src%.*}")
      [ -f "$seg_gt/$stem.png" ] || die "$seg_gt/$stem.png: no ground truth for $(basename "$src")"
      ln -s "$(cd "$seg_gt" && pwd)/$stem.png" "$out/seg-gt/$(basename "${f%.*}").png"
    done
    reference=$out/seg-gt
  else
    reference=$out/segment/clean
  fi
  say "table5: segmentation, $seg_images_n frame(s) of $seg_source, $(basename "$segmenter") -> $out"
  for i in "${!rows[@]}"; do
    row=${rows[$i]}
    middle "$i"
    rm -rf "$out/segment/$row" && mkdir -p "$out/segment/$row"
    run_row "segment $row" "$seg_images_n" multifilesrc "location=$out/seg-frames/%05d.$seg_ext" \
      "stop-index=$((seg_images_n - 1))" "caps=image/${seg_ext/jpg/jpeg}" ! "$seg_decoder" ! \
      videoconvert ! video/x-raw,format=RGB ! "${mid[@]}" \
      sapnetsegment "model-location=$segmenter" "device=$device" \
      "labels-location=$out/segment/$row/%05d.png" "${seg_extra[@]}" ! \
      identity name=tick silent=false ! fakesink sync=false
    seg_time[$row]=$row_seconds
    seg_miou[$row]=null seg_mpa[$row]=null
    if [ "$row" != clean ] || [ -n "$seg_gt" ]; then
      r=$("$sapnet" eval-segment --gt "$reference" --pred "$out/segment/$row" \
        --num-classes "$num_classes" --ignore "$ignore" --json 2>>"$log") ||
        die "eval-segment failed on $row (log: $log)"
      seg_miou[$row]=$(json_number mIoU <<<"$r")
      seg_mpa[$row]=$(json_number mPA <<<"$r")
    fi
  done
fi

# --- The picture ---------------------------------------------------------------------------------
if [ -n "$picture" ]; then
  [ "$do_segment" = 1 ] || die "--picture draws on the first segmentation frame: keep --tasks segment"
  [ ${#model_names[@]} -gt 0 ] || die "--picture needs a deraining model (--models)"
  [ -f "$detector" ] || die "--detector: '$detector': no such file"
  f0=${model_files[0]}
  width=$(head -c 24 "$out/seg-frames/00000.png" | od -An -tu1 -j16 -N4 | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
  [ "$seg_ext" = png ] && [ "$width" -gt 0 ] || die "--picture needs PNG segmentation frames"
  read -r -a picture_extra <<<"$picture_props"
  det_pic=(sapnetdetect "model-location=$detector" "output-format=$det_format" "device=$device"
    "${det_extra[@]}" "${picture_extra[@]}" overlay=true)
  echo "=== picture" >>"$log"
  gst-launch-1.0 -q compositor name=mix "sink_1::xpos=$width" ! videoconvert ! jpegenc quality=85 ! \
    filesink "location=$picture.tmp" \
    filesrc "location=$out/seg-frames/00000.png" ! pngdec ! videoconvert ! video/x-raw,format=RGB ! \
    rainsim "seed=$seed" "${heavy_extra[@]}" ! tee name=t \
    t. ! queue ! "${det_pic[@]}" ! videoconvert ! mix.sink_0 \
    t. ! queue ! sapnetderain qos=false ${f0:+"model-location=$f0"} "${derain_extra[@]}" ! \
    "${det_pic[@]}" ! videoconvert ! mix.sink_1 >>"$log" 2>&1 ||
    die "the picture's pipeline failed (log: $log)"
  mv "$picture.tmp" "$picture"
  say "table5: wrote $picture (heavy rain | derained by ${model_names[0]}; boxes coloured by class)"
fi

# --- The table -----------------------------------------------------------------------------------
percent() { awk -v v="$1" 'BEGIN { if (v == "" || v == "null" || v < 0) printf "%8s", "-"; else printf "%8.1f", 100 * v }'; }
seconds() { if [ -z "$1" ]; then printf '%8s' -; else printf '%8s' "$1"; fi; }
{
  echo "Table 5 protocol, rain seed $seed; light rain: $light_props; heavy rain: $heavy_props"
  [ -n "$stages" ] && echo "sapnetderain stages=$stages"
  echo "$machine"
  if [ "$do_detect" = 1 ]; then
    echo
    echo "Detection: $(basename "$detector") on $det_images image(s) of $images (COCO AP, %)"
    printf '%-30s %8s %8s %8s %8s\n' "" mAP mAP50 mAP75 "s/image"
    for i in "${!rows[@]}"; do
      row=${rows[$i]}
      printf '%-30s %s %s %s %s\n' "$(row_title "$i")" "$(percent "${det_map[$row]}")" \
        "$(percent "${det_map50[$row]}")" "$(percent "${det_map75[$row]}")" "$(seconds "${det_time[$row]}")"
    done
  fi
  if [ "$do_segment" = 1 ]; then
    echo
    if [ -n "$seg_gt" ]; then
      echo "Segmentation: $(basename "$segmenter") on $seg_images_n frame(s), against $seg_gt (%)"
    else
      echo "Segmentation: $(basename "$segmenter") on $seg_images_n frame(s); reference: the clean"
      echo "frames' own class maps (consistency, not accuracy against human labels) (%)"
    fi
    printf '%-30s %8s %8s %8s\n' "" mIoU mPA "s/image"
    for i in "${!rows[@]}"; do
      row=${rows[$i]}
      if [ "$row" = clean ] && [ -z "$seg_gt" ]; then
        printf '%-30s %8s %8s %s\n' "$(row_title "$i")" ref ref "$(seconds "${seg_time[$row]}")"
      else
        printf '%-30s %s %s %s\n' "$(row_title "$i")" "$(percent "${seg_miou[$row]}")" \
          "$(percent "${seg_mpa[$row]}")" "$(seconds "${seg_time[$row]}")"
      fi
    done
  fi
  echo
  echo "s/image: wall time of the row's pipeline (start-up and model loading included) per image"
} >"$out/table5.txt"
json_string() { printf '"%s"' "$(sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' <<<"$1")"; }
or_null() { if [ -z "$1" ]; then echo null; else echo "$1"; fi; }
{
  printf '{"seed": %d, "light": %s, "heavy": %s, "stages": %s, "machine": %s' "$seed" \
    "$(json_string "$light_props")" "$(json_string "$heavy_props")" "$(or_null "$stages")" \
    "$(json_string "$machine")"
  if [ "$do_detect" = 1 ]; then
    printf ', "detection": {"images": %d, "detector": %s, "rows": [' "$det_images" "$(json_string "$detector")"
    sep=""
    for i in "${!rows[@]}"; do
      row=${rows[$i]}
      printf '%s{"row": "%s", "title": %s, "mAP": %s, "mAP50": %s, "mAP75": %s, "seconds_per_image": %s}' \
        "$sep" "$row" "$(json_string "$(row_title "$i")")" "$(or_null "${det_map[$row]}")" \
        "$(or_null "${det_map50[$row]}")" "$(or_null "${det_map75[$row]}")" "${det_time[$row]}"
      sep=", "
    done
    printf ']}'
  fi
  if [ "$do_segment" = 1 ]; then
    printf ', "segmentation": {"images": %d, "segmenter": %s, "reference": "%s", "rows": [' \
      "$seg_images_n" "$(json_string "$segmenter")" "$([ -n "$seg_gt" ] && echo ground-truth || echo clean-prediction)"
    sep=""
    for i in "${!rows[@]}"; do
      row=${rows[$i]}
      printf '%s{"row": "%s", "title": %s, "mIoU": %s, "mPA": %s, "seconds_per_image": %s}' \
        "$sep" "$row" "$(json_string "$(row_title "$i")")" "${seg_miou[$row]}" "${seg_mpa[$row]}" \
        "${seg_time[$row]}"
      sep=", "
    done
    printf ']}'
  fi
  printf '}\n'
} >"$out/table5.json"
if [ "$json" = 1 ]; then cat "$out/table5.json"; else cat "$out/table5.txt"; fi
say "table5: wrote $out/table5.txt and $out/table5.json"
