#!/usr/bin/env bash
# Issue 12's check on the GPU machine (an H100 or H200), in one call: build against the machine's
# CUDA LibTorch, the CUDA tests, `sapnet bench` (Engine and element; 640x360, 1280x720, 1920x1080;
# fp32 and fp16), `sapnet eval` of Rain100L on CUDA in fp32 and fp16, and in the same run the
# same network in plain PyTorch (../shared/device/pytorch_reference.py), training steps per second
# in fp32 and bf16 (train: `sapnet train --benchmark` on Rain100L's pairs), and issue 16's check of
# sapnetderain on GStreamer's CUDA memory (cudamem: test_gst_cuda, i.e. `cudaupload ! sapnetderain !
# cudadownload` against system memory per format; decode -> derain (-> encode) in CUDA memory
# against system memory in frames per second; bench's element+cudamem rows). Results land in $OUT
# (at most 8 files come back): summary.txt, gpu.txt, build.log, tests.log, bench.json,
# eval.json, pytorch.json, cudamem.log (train's lines go to summary.txt).
#
# Prepare here first: tests/gpu/prepare.sh. Then, as the device call's command (carry .device):
#   source .device/env.sh; tests/gpu/device-check.sh
# Steps can be chosen (default all): tests/gpu/device-check.sh build tests bench eval reference train cudamem
# SAPNET_DEVICE=cpu runs the same steps on this machine's CPU with small sizes, to check the
# script itself before device time is spent (it uses ./build; SAPNET_BUILD names another).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/device-out}
mkdir -p "$out"
device=${SAPNET_DEVICE:-cuda}
steps=${*:-build tests bench eval reference train cudamem}
data=.device/shared
weights=$data/weights/sapnet-official/Model11_net_latest.pth
if [ "$device" = cpu ]; then
  build=build sizes=(320x240) precisions=(fp32) frames=3 evals=(fp32) limit=4 train=(--patch 32 --batch 2)
  py=/usr/bin/python3; [ -x /opt/torch-cuda/bin/python ] && py=/opt/torch-cuda/bin/python
  export SAPNET_PYTHON=${SAPNET_PYTHON:-$py}
  data=${SAPNET_SHARED_DIR:-../shared}; weights=$data/weights/sapnet-official/Model11_net_latest.pth
else
  build=build-gpu sizes=(640x360 1280x720 1920x1080) precisions=(fp32 fp16) frames=100
  evals=(fp32 fp16) limit=0 train=(--patch 96 --batch 16 --benchmark-steps 50)
fi
build=${SAPNET_BUILD:-$build}  # e.g. SAPNET_BUILD=build-cuda to try the cudamem step here
sapnet=$build/training/sapnet
# The carried Debian packages that install into /lib (libexpat1, libudev1, ...; env.sh puts only
# /usr/lib on the path): just those the machine lacks, last, so that its own stay in use.
if [ -d /tmp/gstroot/lib/x86_64-linux-gnu ]; then
  mkdir -p /tmp/sapnet-extra-libs
  for so in /tmp/gstroot/lib/x86_64-linux-gnu/*.so.*; do
    n=$(basename "$so")
    ldconfig -p | awk '{print $1}' | grep -qx "$n" || ln -sf "$so" "/tmp/sapnet-extra-libs/$n"
  done
  export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/tmp/sapnet-extra-libs
  export LIBRARY_PATH=${LIBRARY_PATH:+$LIBRARY_PATH:}/tmp/sapnet-extra-libs
fi
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
      # GStreamer's CUDA headers include cudaGL.h, which includes GL/gl.h: the carried libgl-dev's
      # headers when the machine has none (only GL/ and KHR/, not the rest of the carried tree).
      if [ ! -f /usr/include/GL/gl.h ] && [ -f /tmp/gstroot/usr/include/GL/gl.h ]; then
        mkdir -p /tmp/sapnet-gl-include
        ln -sfn /tmp/gstroot/usr/include/GL /tmp/sapnet-gl-include/GL
        ln -sfn /tmp/gstroot/usr/include/KHR /tmp/sapnet-gl-include/KHR
        export CPLUS_INCLUDE_PATH=/tmp/sapnet-gl-include${CPLUS_INCLUDE_PATH:+:$CPLUS_INCLUDE_PATH}
      fi
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
    train)
      # The candidate's training step (6 stages, loss on every exit), fp32 against bf16 autocast.
      [ -d "$data/data/Rain100L" ] || { summary "train: $data/data/Rain100L is absent (tests/gpu/prepare.sh)"; continue; }
      for p in fp32 bf16; do
        line=$(timeout 180 "$sapnet" train --paired "$data/data/Rain100L" --stages 6 --w-seg 0 --w-l1 1 \
          --stage-weights 0.1 0.1 0.2 0.5 0.5 1 "${train[@]}" --benchmark --benchmark-procs 1 --json \
          --device "$device" --precision $p -o /tmp/sapnet-train-bench 2>/tmp/sapnet-train-bench.err)
        rc=$?
        summary "train $p: exit $rc ${line:-no result}"
        [ $rc = 0 ] || tail -3 /tmp/sapnet-train-bench.err | tee -a "$out/summary.txt"
      done ;;
    cudamem)
      log=$out/cudamem.log
      if ! grep -q 'SAPNET_GST_CUDA=1' $build/compile_commands.json 2>/dev/null; then
        summary "cudamem: $build has no CUDA-memory part (gstreamer-cuda-1.0 or its headers missing; see build.log)"
        continue
      fi
      # Only the bad/ugly plugins this step uses: the others would fail to load (their libraries
      # are not carried) and slow the registry scan.
      plugdir=/tmp/gstroot/usr/lib/x86_64-linux-gnu/gstreamer-1.0
      for deb in .device/debs/gstreamer1.0-plugins-bad_*.deb .device/debs/gstreamer1.0-plugins-ugly_*.deb; do
        [ -f "$deb" ] || continue
        dpkg -c "$deb" | grep -o 'libgst[a-z0-9_]*\.so$' | grep -v -x -E 'libgst(nvcodec|videoparsersbad|x264)\.so' |
          while read -r so; do rm -f "$plugdir/$so"; done
      done
      export GST_PLUGIN_PATH_1_0=$PWD/$build/gst
      { echo "== nvcodec"; gst-inspect-1.0 nvcodec 2>&1 | grep -E '^ +[a-z0-9]+:' ; } >>"$log"
      have() { gst-inspect-1.0 "$1" >/dev/null 2>&1; }
      summary "cudamem: elements: $(for e in cudaupload cudadownload nvh264dec nvh264enc x264enc h264parse; do have $e && printf '%s ' $e || printf '(no %s) ' $e; done)"
      echo "== test_gst_cuda" >>"$log"
      run_step "cudamem tests" 300 cudamem.log meson test -C $build --no-rebuild --print-errorlogs --verbose gst_cuda
      grep -E '^(NV12|I420|RGBA|BGRA|RGBx|BGRx): CUDA memory|\[  (PASSED|FAILED|SKIPPED)' "$log" | sed 's/^/cudamem: /' | tee -a "$out/summary.txt"
      # Decode -> derain (-> encode) on a short clip made here: CUDA memory against system memory.
      clip=/tmp/sapnet-clip.h264 n=300
      if have x264enc; then
        gst-launch-1.0 -q videotestsrc num-buffers=$n pattern=ball ! video/x-raw,width=1280,height=720,framerate=30/1 ! \
          x264enc speed-preset=ultrafast ! video/x-h264,stream-format=byte-stream ! filesink location=$clip >>"$log" 2>&1
      elif have nvh264enc && have cudaupload; then
        gst-launch-1.0 -q videotestsrc num-buffers=$n pattern=ball ! video/x-raw,format=NV12,width=1280,height=720,framerate=30/1 ! \
          cudaupload ! nvh264enc ! h264parse ! video/x-h264,stream-format=byte-stream ! filesink location=$clip >>"$log" 2>&1
      fi
      if [ ! -s $clip ] || ! have nvh264dec; then
        summary "cudamem: no decode pipeline (clip: $([ -s $clip ] && echo made || echo 'no encoder'); nvh264dec: $(have nvh264dec && echo yes || echo no))"
      else
        tail="fakesink sync=false"; what="decode -> derain"
        if have nvh264enc; then tail="nvh264enc ! fakesink sync=false"; what="decode -> derain -> encode"; fi
        for round in 1 2; do
          for mem in system cuda; do
            if [ $mem = cuda ]; then f='video/x-raw(memory:CUDAMemory),format=NV12'; else f='video/x-raw,format=NV12'; fi
            echo "== $what, $mem memory, round $round" >>"$log"
            start=$SECONDS
            GST_DEBUG=sapnetcudamemory:4 timeout 240 gst-launch-1.0 filesrc location=$clip ! parsebin ! nvh264dec ! "$f" ! \
              sapnetderain device=cuda ! "$f" ! $tail >/tmp/sapnet-launch.log 2>&1
            rc=$?
            grep -E 'Execution ended|ERROR|copying through system memory|in place again' /tmp/sapnet-launch.log | head -20 >>"$log"
            secs=$(grep -o 'Execution ended after [0-9:.]*' /tmp/sapnet-launch.log | awk '{split($4,t,":"); print t[1]*3600+t[2]*60+t[3]}')
            fps=$(awk -v n=$n -v s="${secs:-0}" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print "?" }')
            summary "cudamem: $what 1280x720 x$n, $mem memory, round $round: exit $rc, ${secs:-?} s playing, $fps fps ($((SECONDS - start)) s with start-up)"
          done
        done
      fi
      echo "== sapnet bench (element rows, CUDA memory included)" >>"$log"
      if [ "$device" = cpu ]; then cm=(--sizes 64x48 --precisions fp32 --frames 1 --warmup 0)
      else cm=(--sizes 1280x720 1920x1080 --precisions fp16 --frames 50); fi
      run_step "cudamem bench" 240 cudamem.log "$sapnet" bench --element-only "${cm[@]}" --device "$device"
      grep -E '^element' "$log" | sed 's/^/cudamem: /' | tee -a "$out/summary.txt" ;;
    *) summary "unknown step '$step' (build tests bench eval reference train cudamem)"; exit 2 ;;
  esac
done
summary "device-check: done; results in $out"
