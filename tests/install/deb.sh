#!/usr/bin/env bash
# .ci/make-deb on this build: the package's fields and contents, and its files, unpacked, work in
# the /usr layout (the plugin loads, finds the packaged model; the command reports its version).
# Skips without dpkg-dev.
set -euo pipefail
: "${SAPNET_BUILD_DIR:?}" "${SAPNET_PROJECT_VERSION:?}"
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps dpkg-architecture; do
  command -v $tool >/dev/null || { echo "SKIP: no $tool (apt-get install dpkg-dev)"; exit 77; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/sapnet-deb-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

# gzip: this test checks the package, not its compression, and xz costs a minute on 2 cores.
SAPNET_DEB_COMPRESSION=gzip "$source_dir/.ci/make-deb" --build-dir "$SAPNET_BUILD_DIR" --no-build \
  -o "$work" || fail "make-deb failed"
arch=$(dpkg --print-architecture) ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
deb=$work/sapnet_${SAPNET_PROJECT_VERSION}_$arch.deb
[ -f "$deb" ] || fail "no $deb"

info=$(dpkg-deb --info "$deb")
field() { sed -n "s/^ $1: //p" <<<"$info"; }
[ "$(field Package)" = sapnet ] && [ "$(field Version)" = "$SAPNET_PROJECT_VERSION" ] &&
  [ "$(field Architecture)" = "$arch" ] || fail "package fields: $info"
depends=$(field Depends)
for p in libtorch libgstreamer1.0-0 libgstreamer-plugins-base1.0-0 libc6; do
  grep -q "\b$p" <<<"$depends" || fail "Depends lacks $p: $depends"
done
grep -q "\bsapnet\b (" <<<"$depends" && fail "the package depends on itself: $depends"
dpkg-deb --contents "$deb" | awk '{print $6}' >"$work/contents"
for f in usr/bin/sapnet "usr/lib/$ma/gstreamer-1.0/libgstsapnet.so" "usr/lib/$ma/libsapnet.so.0" \
  "usr/lib/$ma/libgstsapnetmeta-1.0.so.0" usr/include/sapnet/engine.h usr/include/sapnet/frame.h \
  usr/include/gstreamer-1.0/gst/sapnet/sapnetmeta.h "usr/lib/$ma/pkgconfig/sapnet.pc" \
  "usr/lib/$ma/pkgconfig/gstreamer-sapnet-meta-1.0.pc" usr/share/sapnet/sapnet-default.sapnet \
  usr/share/doc/sapnet/README.md usr/share/doc/sapnet/examples/detect_json.cpp; do
  grep -qx "\./$f" "$work/contents" || fail "the package lacks /$f"
done
grep -q '^\./usr/local' "$work/contents" && fail "the package installs under /usr/local"

# Unpacked: the plugin from the package's folders loads and derains with the packaged model. As on
# Debian 12 (merged /usr), /lib links to usr/lib and the plugin and libraries load through it.
dpkg-deb -x "$deb" "$work/x"
usr=$work/x/usr
ln -s usr/lib "$work/x/lib"
export LD_LIBRARY_PATH=$work/x/lib/$ma GST_PLUGIN_PATH_1_0=$work/x/lib/$ma/gstreamer-1.0
export GST_REGISTRY_1_0=$work/registry.bin GST_DEBUG=sapnetderain:4 GST_DEBUG_NO_COLOR=1
unset GST_PLUGIN_PATH SAPNET_MODEL
gst-launch-1.0 -q videotestsrc num-buffers=1 ! video/x-raw,width=32,height=24 ! sapnetderain stages=1 ! \
  fakesink >"$work/launch.log" 2>&1 || { cat "$work/launch.log"; fail "the packaged plugin did not run"; }
grep -q "model $usr/share/sapnet/sapnet-default.sapnet" "$work/launch.log" ||
  { grep "model " "$work/launch.log"; fail "the packaged plugin did not find the packaged model"; }
[ "$("$usr/bin/sapnet" --version)" = "sapnet $SAPNET_PROJECT_VERSION" ] || fail "the packaged sapnet --version"
echo "deb: $(du -h "$deb" | cut -f1) (gzip); Depends: $depends"
