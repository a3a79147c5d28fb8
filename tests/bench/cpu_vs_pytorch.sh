#!/usr/bin/env bash
# The Engine on the CPU against a plain PyTorch eager forward of the same network (Debian's
# python3-torch), at 320x240, alternating the two so that machine noise hits both alike.
# Usage: tests/bench/cpu_vs_pytorch.sh [ROUNDS] [FRAMES]   (needs ./build and ../shared)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
frames=${2:-5}
model=${SAPNET_SHARED_DIR:-../shared}/weights/sapnet-official/Model11_net_latest.pth
[ -f "$model" ] || { echo "cpu_vs_pytorch: $model is absent" >&2; exit 1; }
/usr/bin/python3 -c 'import torch' 2>/dev/null ||
  { echo "cpu_vs_pytorch: needs Debian's python3-torch (apt-get install python3-torch)" >&2; exit 1; }
engine_total=0 torch_total=0
for r in $(seq "$rounds"); do
  e=$(build/training/sapnet bench --device cpu --engine-only --sizes 320x240 --frames "$frames" \
        --threads 2 -m "$model" --json 2>/dev/null |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"][0]["ms_per_frame"])')
  t=$(/usr/bin/python3 tests/reference/pytorch_eager_bench.py --size 320x240 --frames "$frames" --threads 2 |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["ms_per_frame"])')
  printf 'round %d: engine %.1f ms/frame, pytorch eager %.1f ms/frame\n' "$r" "$e" "$t"
  engine_total=$(python3 -c "print($engine_total + $e)")
  torch_total=$(python3 -c "print($torch_total + $t)")
done
python3 -c "e=$engine_total/$rounds; t=$torch_total/$rounds; print(f'mean: engine {e:.1f} ms, pytorch eager {t:.1f} ms, speed ratio (pytorch / engine) {t/e:.2f}')"
