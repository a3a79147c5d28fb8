#!/usr/bin/env bash
# libsapnet as installed: the headers compile alone with only pkg-config's flags (so none needs
# LibTorch), the Engine example builds and derains an image, and the versions agree.
source "$(dirname "$0")/common.sh"

[ "$(pkg-config --modversion sapnet)" = "$SAPNET_PROJECT_VERSION" ] || fail "sapnet.pc's version"
soname=$(objdump -p "$libdir/libsapnet.so" | awk '/SONAME/ {print $2}')
[ "$soname" = "libsapnet.so.${SAPNET_PROJECT_VERSION%%.*}" ] || fail "libsapnet's soname is '$soname'"
[ "$(sapnet --version)" = "sapnet $SAPNET_PROJECT_VERSION" ] || fail "sapnet --version: $(sapnet --version)"

# Each public header on its own, with the installed include folder only.
headers=("$prefix"/include/sapnet/*.h)
[ ${#headers[@]} -ge 6 ] || fail "only ${#headers[@]} headers installed in include/sapnet"
for h in "${headers[@]}"; do
  if grep -Eq '^#include [<"](torch|ATen|c10)/' "$h"; then fail "$h includes LibTorch"; fi
  # shellcheck disable=SC2046
  echo "#include <sapnet/$(basename "$h")>" |
    c++ -std=c++17 -fsyntax-only -x c++ - $(pkg-config --cflags sapnet) ||
    fail "$(basename "$h") does not compile alone against the installed headers"
done
# Only the marked API leaves the library (hidden visibility).
exported=$(nm -DC --defined-only "$libdir/libsapnet.so" | grep -c ' T sapnet::' || true)
internal=$(nm -DC --defined-only "$libdir/libsapnet.so" | grep -Ec ' T sapnet::(SAPNetImpl|load_weights|load_model_file|read_torch_state_dict)' || true)
[ "$exported" -gt 10 ] && [ "$internal" -eq 0 ] ||
  fail "libsapnet exports $exported sapnet:: functions, $internal of them internal"

build_example derain_image sapnet
# A small rainy image: videotestsrc through rainsim, as raw RGB behind a PPM header.
w=96 h=64
gst-launch-1.0 -q videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,format=RGB,width=$w,height=$h ! \
  rainsim density=0.01 seed=3 ! filesink location="$work/rain.rgb" || fail "cannot make the rainy image"
{ printf 'P6\n%d %d\n255\n' $w $h; cat "$work/rain.rgb"; } >"$work/rain.ppm"
out=$("$work/derain_image" "$work/rain.ppm" "$work/derained.ppm" --stages 2) || fail "derain_image failed"
echo "$out"
case $out in "sapnet $SAPNET_PROJECT_VERSION: derained ${w}x${h}, 2 stage(s) on cpu, model $prefix/"*) ;;
  *) fail "derain_image did not use the installed default model: $out" ;; esac
header_bytes=$(printf 'P6\n%d %d\n255\n' $w $h | wc -c)
[ "$(stat -c %s "$work/derained.ppm")" -eq $((header_bytes + w * h * 3)) ] || fail "derained.ppm's size"
[ "$(head -c "$header_bytes" "$work/derained.ppm")" = "$(head -c "$header_bytes" "$work/rain.ppm")" ] ||
  fail "derained.ppm's header"
cmp -s "$work/rain.ppm" "$work/derained.ppm" && fail "the derained image equals the rainy one"
# Errors come back as sapnet::Error, with the file named.
if err=$("$work/derain_image" "$work/rain.ppm" "$work/x.ppm" --model "$work/missing.sapnet" 2>&1); then
  fail "a missing model succeeded"
fi
case $err in *missing.sapnet*) ;; *) fail "the error does not name the model: $err" ;; esac
echo "engine app: headers, version, soname and the Engine example as installed: ok"
