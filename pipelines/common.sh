# Shared by the pipeline scripts: the build's plugin on GST_PLUGIN_PATH, and a build when none exists.
# SAPNET_BUILD_DIR names another build folder than ./build (it is not built here).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Sourced without arguments, this file sees the script's own: --help builds and installs nothing.
asks_for_help() {
  local a
  for a in "$@"; do [ "$a" = -h ] || [ "$a" = --help ] && return 0; done
  return 1
}
if [ -n "${SAPNET_BUILD_DIR:-}" ]; then
  export GST_PLUGIN_PATH="$SAPNET_BUILD_DIR/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
else
  if [ -z "${SAPNET_NO_BUILD:-}" ] && [ ! -f "$root/build/gst/libgstsapnet.so" ] &&
    ! asks_for_help "$@"; then
    "$root/.ci/install-deps" && "$root/.ci/build" >/dev/null || exit 1
  fi
  export GST_PLUGIN_PATH="$root/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi

# model_props FILE: the sapnetderain property for --model (empty: the bundled model).
model_props() { [ -n "$1" ] && printf 'model-location="%s"' "$1"; }

die() { echo "$(basename "$0"): $*" >&2; exit 2; }

# quietly CMD...: runs CMD with its progress lines (stderr) held back; they are shown, with the
# exit status, only when it fails, so that a failing step says why.
quietly() {
  local log rc=0
  log=$(mktemp)
  "$@" 2>"$log" || rc=$?
  if [ "$rc" -ne 0 ]; then
    cat "$log" >&2
    echo "$(basename "$0"): $(basename "$1") failed (status $rc)" >&2
  fi
  rm -f "$log"
  return "$rc"
}
