#!/usr/bin/env bash
# Issue 12's check on the GPU machine (an H100 or H200), in one call: build against the machine's
# CUDA LibTorch, the CUDA tests, `sapnet bench` (Engine and element; 640x360, 1280x720, 1920x1080;
# fp32 and fp16), `sapnet eval` of Rain100L on CUDA in fp32 and fp16, and in the same run the
# same network in plain PyTorch (../shared/device/pytorch_reference.py). Results land in $OUT
# (at most 8 files come back): summary.txt, gpu.txt, build.log, tests.log, bench.json,
# eval.json, pytorch.json.
#
# Prepare here first: tests/gpu/prepare.sh. Then, as the device call's command (carry .device):
#   source .device/env.sh; tests/gpu/device-check.sh
# Steps can be chosen (default all): tests/gpu/device-check.sh build tests bench eval reference
# SAPNET_DEVICE=cpu runs the same steps on this machine's CPU with small sizes, to check the
# script itself before device time is spent (it uses ./build).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/device-out}
mkdir -p "$out"
device=${SAPNET_DEVICE:-cuda}
steps=${*:-build tests bench eval reference}
data=.device/shared
weights=$data/weights/sapnet-official/Model11_net_latest.pth
if [ "$device" = cpu ]; then
  build=build sizes=(320x240) precisions=(fp32) frames=3 evals=(fp32) limit=4
  py=/usr/bin/python3; [ -x /opt/torch-cuda/bin/python ] && py=/opt/torch-cuda/bin/python
  export SAPNET_PYTHON=${SAPNET_PYTHON:-$py}
  data=${SAPNET_SHARED_DIR:-../shared}; weights=$data/weights/sapnet-official/Model11_net_latest.pth
else
  build=build-gpu sizes=(640x360 1280x720 1920x1080) precisions=(fp32 fp16) frames=100
  evals=(fp32 fp16) limit=0
fi
sapnet=$build/training/sapnet
summary() { echo "$*" | tee -a "$out/summary.txt"; }
# Runs a step with a time limit, its output appended to LOG; says how it went in summary.txt.
run_step() {
  local name=$1 limit=$2 log=$3; shift 3
  local start=$SECONDS
  timeout "$limit" "$@" >>"$out/$log" 2>&1
  local rc=$?
  summary "$name: exit $rc in $((SECONDS - start)) s"
  return $rc
}

summary "device-check $(date -u +%FT%TZ) on $device; steps: $steps"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || echo "no nvidia-smi"
  python3 -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())' 2>&1
  nproc
} >"$out/gpu.txt"
summary "gpu: $(head -2 "$out/gpu.txt" | tail -1)"

for step in $steps; do
  case $step in
    build)
      if [ "$device" = cuda ] && [ ! -f $build/build.ninja ]; then
        run_step "configure" 120 build.log meson setup $build -Dtorch_prefix="$TORCH_PREFIX" \
          -Dopencv=disabled -Dtests=enabled -Dshared_dir="$PWD/$data" || exit 1
      fi
      run_step "build" 420 build.log ninja -C $build -j"$(nproc)" || exit 1
      tail -5 "$out/build.log" ;;
    tests)
      # Every suite that built; the CUDA cases run only where a GPU is (they skip elsewhere).
      run_step "tests" 300 tests.log meson test -C $build --print-errorlogs --no-rebuild \
        engine model frame gst gst_video
      grep -E "^(Ok|Fail|Skipped|Timeout):" "$out/tests.log" | tr '\n' ' ' | sed 's/^/tests: /' |
        tee -a "$out/summary.txt"; echo ;;
    bench)
      for model in bundled "$weights"; do
        args=(--device "$device" --sizes "${sizes[@]}" --precisions "${precisions[@]}" --frames "$frames" --json)
        [ "$model" = bundled ] || args+=(-m "$model")
        echo "{\"model\": \"$(basename "$model")\", \"bench\": " >>"$out/bench.json"
        run_step "bench $(basename "$model")" 240 bench.json "$sapnet" bench "${args[@]}"
        echo "}" >>"$out/bench.json"
      done ;;
    eval)
      [ -d "$data/data/Rain100L" ] || { summary "eval: $data/data/Rain100L is absent (tests/gpu/prepare.sh)"; continue; }
      for p in "${evals[@]}"; do
        run_step "eval Rain100L $p" 120 eval.json "$sapnet" eval "$data/data/Rain100L" -m "$weights" \
          --device "$device" --precision "$p" --json --limit "$limit"
      done
      grep '^{' "$out/eval.json" | sed 's/^/eval: /' | tee -a "$out/summary.txt" ;;
    reference)
      ref=.device/pytorch_reference.py
      [ -f "$ref" ] || ref=${SAPNET_SHARED_DIR:-../shared}/device/pytorch_reference.py
      refargs=("$weights" --sizes "$(IFS=,; echo "${sizes[*]}")" --device "$device" --json)
      [ "$device" = cpu ] && refargs+=(--frames 2 --no-compile)
      run_step "pytorch reference" 300 pytorch.json "${SAPNET_PYTHON:-python3}" "$ref" "${refargs[@]}" ;;
    *) summary "unknown step '$step' (build tests bench eval reference)"; exit 2 ;;
  esac
done
summary "device-check: done; results in $out"
