# Shared by the pipeline scripts: the build's plugin on GST_PLUGIN_PATH, and a build when none exists.
# SAPNET_BUILD_DIR names another build folder than ./build (it is not built here).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${SAPNET_BUILD_DIR:-}" ]; then
  export GST_PLUGIN_PATH="$SAPNET_BUILD_DIR/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
else
  if [ -z "${SAPNET_NO_BUILD:-}" ] && [ ! -f "$root/build/gst/libgstsapnet.so" ]; then
    "$root/.ci/install-deps" && "$root/.ci/build" >/dev/null || exit 1
  fi
  export GST_PLUGIN_PATH="$root/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi

# model_props FILE: the sapnetderain property for --model (empty: the bundled model).
model_props() { [ -n "$1" ] && printf 'model-location="%s"' "$1"; }

die() { echo "$(basename "$0"): $*" >&2; exit 2; }
