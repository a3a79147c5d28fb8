#!/usr/bin/env bash
# The main job: rain removed from real rainy footage, written to out/.
set -euo pipefail
usage() {
  cat <<USAGE
Usage: pipelines/demo.sh [--model FILE] [--input FOLDER] [--output DIR]

Installs what is missing (Debian 12), builds sapnet, and derains a folder of rainy frames
(default: ../shared/data/NTURain-real-ra1/frames) into DIR (default: out/derained).
--model defaults to the bundled model, or to the authors' released SAPNet weights in ../shared
while no bundled model exists.
USAGE
}
root=$(cd "$(dirname "$0")/.." && pwd)
model="" input="$root/../shared/data/NTURain-real-ra1/frames" output="$root/out/derained"
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --input) input=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
"$root/.ci/install-deps"
"$root/.ci/build" >/dev/null
if [ -z "$model" ] && [ ! -f "$root/model/sapnet-default.sapnet" ]; then
  model="$root/../shared/weights/sapnet-official/Model11_net_latest.pth"
fi
start=$(date +%s.%N)
"$root/build/training/sapnet" derain "$input" -o "$output" ${model:+--model "$model"}
end=$(date +%s.%N)
n=$(ls "$output" | wc -l)
echo "demo: derained frames are in $output ($n frames, $(awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", n / (e - s) }') frames/s)"
