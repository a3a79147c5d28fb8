# Sourced by the install tests: installs the build into a fresh DESTDIR (nothing is compiled: the
# test depends on the built targets) and points pkg-config, the loader and GStreamer at it, as an
# application outside the tree sees an install. From meson: SAPNET_BUILD_DIR, SAPNET_PREFIX,
# SAPNET_LIBDIR (relative to the prefix or absolute), SAPNET_PROJECT_VERSION.
set -euo pipefail
: "${SAPNET_BUILD_DIR:?}" "${SAPNET_PREFIX:?}" "${SAPNET_LIBDIR:?}" "${SAPNET_PROJECT_VERSION:?}"
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
examples=$source_dir/pipelines/examples
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }  # meson's skip status

work=$(mktemp -d "${TMPDIR:-/tmp}/sapnet-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
destdir=$work/root
meson install -C "$SAPNET_BUILD_DIR" --no-rebuild --destdir "$destdir" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; fail "meson install --destdir"; }

prefix=$destdir$SAPNET_PREFIX
case $SAPNET_LIBDIR in /*) libdir=$destdir$SAPNET_LIBDIR ;; *) libdir=$prefix/$SAPNET_LIBDIR ;; esac
[ -d "$libdir" ] || fail "nothing installed in $libdir"
export PKG_CONFIG_PATH=$libdir/pkgconfig
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PATH=$prefix/bin:$PATH
# Only the installed plugin (never the build's), beside the system's; a registry of its own.
export GST_PLUGIN_PATH_1_0=$libdir/gstreamer-1.0 GST_PLUGIN_PATH=$libdir/gstreamer-1.0
export GST_REGISTRY_1_0=$work/registry.bin
unset GST_PLUGIN_SYSTEM_PATH_1_0 GST_PLUGIN_SYSTEM_PATH
# The installed default model must be found with no variable.
unset SAPNET_MODEL
export GST_DEBUG_NO_COLOR=1 OMP_NUM_THREADS=2

# Compiles an example from pipelines/examples with what pkg-config says about the installed
# packages, as its header comment tells a user to: build_example NAME PACKAGES...
build_example() {
  local name=$1
  shift
  # shellcheck disable=SC2046  # pkg-config's words are meant to split
  c++ -std=c++17 -O1 -o "$work/$name" "$examples/$name.cpp" $(pkg-config --cflags --libs "$@") ||
    fail "the example $name.cpp does not build against the installed files"
}

# A video for the pipeline examples: OpenCV's street clip when installed, else videotestsrc.
vtest=/usr/share/doc/opencv-doc/examples/data/vtest.avi
video_args=()
if [ -f "$vtest" ]; then video_args=(--input "$vtest"); else echo "note: no $vtest, videotestsrc instead"; fi
