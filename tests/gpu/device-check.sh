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
# (table5: issue 18's protocol, in a call of its own with .device-t5; see prepare.sh --table5).
# Each step has a time limit short enough that one hung step leaves the others their time.
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
  build=build-gpu sizes=(640x360 1280x720 1920x1080) precisions=(fp32 fp16) frames=50
  evals=(fp32 fp16) limit=0 train=(--patch 96 --batch 16 --benchmark-steps 50)
fi
data=$(cd "$data" 2>/dev/null && pwd || echo "$PWD/$data")  # the tests run from other folders
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
# pip's CUDA runtime (libcudart.so.13, which the CUDA path calls directly) beside torch's libraries.
cu13=${TORCH_PREFIX:-/nonexistent}/../nvidia/cu13/lib
[ -d "$cu13" ] && export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$cu13
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

# Runs test programs side by side (no meson there: its version differs from the one that
# configured a carried build), with the environment tests/meson.build gives them; one summary line
# per program: exit status, passed, failed and skipped cases.
run_gtests() {
  local log=$1 t; shift
  local start=$SECONDS
  for t in "$@"; do
    [ -x "$build/tests/test_$t" ] || { summary "test_$t: not built"; continue; }
    SAPNET_SHARED_DIR=$data SAPNET_EXE=$PWD/$sapnet SAPNET_SOURCE_DIR=$PWD OMP_NUM_THREADS=2 \
      GST_PLUGIN_PATH_1_0=$PWD/$build/gst GST_REGISTRY_1_0=/tmp/sapnet-registry-$t.bin \
      LD_LIBRARY_PATH=$PWD/$build/gst:$PWD/$build/gst/meta:${LD_LIBRARY_PATH:-} \
      timeout 150 "$build/tests/test_$t" >/tmp/sapnet-test-$t.log 2>&1 &
    eval "pid_$t=$!"
  done
  for t in "$@"; do
    local pid_var=pid_$t rc=0
    [ -n "${!pid_var:-}" ] || continue
    wait "${!pid_var}" || rc=$?
    { echo "== test_$t (exit $rc)"; cat /tmp/sapnet-test-$t.log; } >>"$out/$log"
    summary "test_$t: exit $rc, $(grep -c '^\[       OK \]' /tmp/sapnet-test-$t.log) passed," \
      "$(grep -c '^\[  SKIPPED \] .* ms)$' /tmp/sapnet-test-$t.log) skipped, failed: $(grep '^\[  FAILED  \] [A-Za-z]' /tmp/sapnet-test-$t.log |
        sed 's/^\[  FAILED  \] //; s/ (.*//' | sort -u | tr '\n' ' ')"
  done
  summary "tests ($*): $((SECONDS - start)) s"
}
# Puts the carried build at build-gpu and its absolute paths (test data, plugin folder, bundled
# model) in reach through a link from the folder it was configured in; false when its programs
# cannot start here (a library missing), so that the caller builds here instead.
use_prebuilt() {
  local root
  root=$(cat .device/build-gpu/source-root)
  rm -rf "$build" && mv .device/build-gpu "$build"
  if [ "$root" != "$PWD" ]; then
    if [ -e "$root" ] && [ "$(cd "$root" && pwd -P)" != "$(pwd -P)" ]; then
      summary "build: the carried build's folder $root exists here: building here instead"
      rm -rf "$build"; return 1
    fi
    mkdir -p "$(dirname "$root")" && ln -sfn "$PWD" "$root"
  fi
  if "$sapnet" --version >>"$out/build.log" 2>&1; then
    summary "build: carried (compiled on the CPU machine against torch $(cat "$build/torch-version")); it runs here"
    # The plugin and the CUDA-memory test load more (GStreamer's CUDA and GL libraries).
    local f missing
    for f in "$build/gst/libgstsapnet.so" "$build/tests/test_gst_cuda"; do
      missing=$(ldd "$f" 2>&1 | grep 'not found' | awk '{print $1}' | tr '\n' ' ')
      [ -z "$missing" ] || summary "build: $f lacks $missing"
    done
    return 0
  fi
  { echo "== carried build does not start:"; ldd "$sapnet" | grep 'not found'; } >>"$out/build.log" 2>&1
  summary "build: the carried build does not start here ($(ldd "$sapnet" | grep -c 'not found') libraries missing): building here"
  rm -rf "$build"
  return 1
}

# Only the bad/ugly plugins the run uses (nvcodec for CUDA memory, h264parse, x264enc): the others
# would fail to load (their libraries are not carried) and slow every registry scan.
plugdir=/tmp/gstroot/usr/lib/x86_64-linux-gnu/gstreamer-1.0
for deb in .device/debs/gstreamer1.0-plugins-bad_*.deb .device/debs/gstreamer1.0-plugins-ugly_*.deb; do
  [ "$device" = cuda ] && [ -d "$plugdir" ] && [ -f "$deb" ] || continue
  dpkg -c "$deb" | grep -o 'libgst[a-z0-9_]*\.so$' | grep -v -x -E 'libgst(nvcodec|videoparsersbad|x264)\.so' |
    while read -r so; do rm -f "$plugdir/$so"; done
done

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
      # A build compiled on the CPU machine against the same CUDA torch (prepare.sh --prebuilt)
      # saves minutes of device time; it is used when its programs start here, else built here.
      if [ "$device" = cuda ] && [ -f .device/build-gpu/source-root ] && use_prebuilt; then
        continue
      fi
      if [ "$device" = cuda ] && [ ! -f $build/build.ninja ]; then
        rm -rf $build
        run_step "configure" 120 build.log meson setup $build -Dtorch_prefix="$TORCH_PREFIX" \
          -Dopencv=disabled -Dtests=enabled -Dshared_dir="$data" || exit 1
      fi
      run_step "build" 420 build.log ninja -C $build -j"$(nproc)" || exit 1
      tail -5 "$out/build.log" ;;
    tests)
      # Every suite that built; the CUDA cases run only where a GPU is (they skip elsewhere).
      run_gtests tests.log engine model frame gst gst_video ;;
    bench)
      # The bundled model only: the authors' network has the same shape (6 stages, 32 channels),
      # so its time is the same; device time is short.
      for model in bundled; do
        # --profile: each Engine row's kernels by class (issue 12's next step asks for the profile);
        # the summaries land in bench.json, the traces stay there (8 files come back at most).
        args=(--device "$device" --sizes "${sizes[@]}" --precisions "${precisions[@]}" --frames "$frames" --json
          --profile /tmp/sapnet-profile)
        [ "$model" = bundled ] || args+=(-m "$model")
        echo "{\"model\": \"$(basename "$model")\", \"bench\": " >>"$out/bench.json"
        run_step "bench $(basename "$model")" 180 bench.json "$sapnet" bench "${args[@]}"
        echo "}" >>"$out/bench.json"
      done ;;
    eval)
      [ -d "$data/data/Rain100L" ] || { summary "eval: $data/data/Rain100L is absent (tests/gpu/prepare.sh)"; continue; }
      for p in "${evals[@]}"; do
        run_step "eval Rain100L $p" 90 eval.json "$sapnet" eval "$data/data/Rain100L" -m "$weights" \
          --device "$device" --precision "$p" --json --limit "$limit"
      done
      grep '^{' "$out/eval.json" | sed 's/^/eval: /' | tee -a "$out/summary.txt" ;;
    reference)
      ref=.device/pytorch_reference.py
      [ -f "$ref" ] || ref=${SAPNET_SHARED_DIR:-../shared}/device/pytorch_reference.py
      refargs=("$weights" --sizes "$(IFS=,; echo "${sizes[*]}")" --device "$device" --json)
      [ "$device" = cpu ] && refargs+=(--frames 2 --no-compile)
      run_step "pytorch reference" 240 pytorch.json "${SAPNET_PYTHON:-python3}" "$ref" "${refargs[@]}" ;;
    train)
      # The candidate's training step (6 stages, loss on every exit), fp32 against bf16 autocast.
      [ -d "$data/data/Rain100L" ] || { summary "train: $data/data/Rain100L is absent (tests/gpu/prepare.sh)"; continue; }
      for p in fp32 bf16; do
        line=$(timeout 120 "$sapnet" train --paired "$data/data/Rain100L" --stages 6 --w-seg 0 --w-l1 1 \
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
      export GST_PLUGIN_PATH_1_0=$PWD/$build/gst
      { echo "== nvcodec"; gst-inspect-1.0 nvcodec 2>&1 | grep -E '^ +[a-z0-9]+:' ; } >>"$log"
      have() { gst-inspect-1.0 "$1" >/dev/null 2>&1; }
      summary "cudamem: elements: $(for e in cudaupload cudadownload nvh264dec nvh264enc x264enc h264parse; do have $e && printf '%s ' $e || printf '(no %s) ' $e; done)"
      echo "== test_gst_cuda" >>"$log"
      run_gtests cudamem.log gst_cuda
      grep -E '^(NV12|I420|RGBA|BGRA|RGBx|BGRx): CUDA memory|\[  (PASSED|FAILED|SKIPPED)' "$log" | sed 's/^/cudamem: /' | tee -a "$out/summary.txt"
      # Decode -> derain (-> encode) on a short clip made here: CUDA memory against system memory.
      clip=/tmp/sapnet-clip.h264 n=300
      if have x264enc; then
        # I420 in: left to choose, x264enc takes Y444 (High 4:4:4), which NVDEC cannot decode.
        gst-launch-1.0 -q videotestsrc num-buffers=$n pattern=ball ! video/x-raw,format=I420,width=1280,height=720,framerate=30/1 ! \
          x264enc speed-preset=ultrafast ! video/x-h264,stream-format=byte-stream,profile=high ! filesink location=$clip >>"$log" 2>&1
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
            GST_DEBUG=sapnetcudamemory:4 timeout 60 gst-launch-1.0 filesrc location=$clip ! parsebin ! nvh264dec ! "$f" ! \
              sapnetderain device=cuda ! "$f" ! $tail >/tmp/sapnet-launch.log 2>&1
            rc=$?
            grep -E 'Execution ended|ERROR|copying through system memory|in place again' /tmp/sapnet-launch.log | head -20 >>"$log"
            secs=$(grep -o 'Execution ended after [0-9:.]*' /tmp/sapnet-launch.log | awk '{split($4,t,":"); print t[1]*3600+t[2]*60+t[3]}')
            fps=$(awk -v n=$n -v s="${secs:-0}" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print "?" }')
            summary "cudamem: $what 1280x720 x$n, $mem memory, round $round: exit $rc, ${secs:-?} s playing, $fps fps ($((SECONDS - start)) s with start-up)"
          done
        done
      fi
      # The bench step's JSON has the element+cudamem rows already (every size and precision).
      if [[ " $steps " != *" bench "* ]]; then
        echo "== sapnet bench (element rows, CUDA memory included)" >>"$log"
        if [ "$device" = cpu ]; then cm=(--sizes 64x48 --precisions fp32 --frames 1 --warmup 0)
        else cm=(--sizes 1280x720 1920x1080 --precisions fp16 --frames 50); fi
        run_step "cudamem bench" 120 cudamem.log "$sapnet" bench --element-only "${cm[@]}" --device "$device"
        grep -E '^element' "$log" | sed 's/^/cudamem: /' | tee -a "$out/summary.txt"
      fi ;;
    table5)
      # Issue 18's protocol with the GPU doing the deraining, detection and segmentation. Its data
      # (perception models, COCO images, street frames, the good plugins) is too big to travel with
      # the rest: `tests/gpu/prepare.sh --table5` gathers it in .device-t5 for a call of its own.
      t5=$PWD/.device-t5
      [ -d "$t5/shared/perception" ] || { summary "table5: .device-t5 is absent (tests/gpu/prepare.sh --table5)"; continue; }
      if [ "$device" = cuda ]; then
        for deb in "$t5"/debs/*.deb; do dpkg -x "$deb" /tmp/gstroot; done
        plugdir=/tmp/gstroot/usr/lib/x86_64-linux-gnu/gstreamer-1.0
        for deb in "$t5"/debs/gstreamer1.0-plugins-good_*.deb; do
          dpkg -c "$deb" | grep -o 'libgst[a-z0-9_]*\.so$' | grep -v -x -E 'libgst(multifile|jpeg|png)\.so' |
            while read -r so; do rm -f "$plugdir/$so"; done
        done
      fi
      ln -sfn "$data/weights" "$t5/shared/weights"  # (a link left by a dry run here dangles there)
      t5dev=$device; [ "$device" = cpu ] && t5args=(--limit 4) || t5args=()
      rm -rf /tmp/sapnet-table5
      SAPNET_SHARED_DIR=$t5/shared SAPNET_BUILD_DIR=$PWD/$build GST_PLUGIN_PATH_1_0=$PWD/$build/gst \
        run_step "table5" 420 table5.log pipelines/table5.sh --device "$t5dev" --derain-props "device=$t5dev" \
        --seg-images "$t5/seg" --picture "$out/table5-picture.jpg" --out /tmp/sapnet-table5 "${t5args[@]}"
      cp /tmp/sapnet-table5/table5.txt /tmp/sapnet-table5/table5.json "$out/" 2>/dev/null
      sed 's/^/table5: /' "$out/table5.txt" 2>/dev/null | tee -a "$out/summary.txt" ;;
    *) summary "unknown step '$step' (build tests bench eval reference train cudamem table5)"; exit 2 ;;
  esac
done
summary "device-check: done; results in $out"
