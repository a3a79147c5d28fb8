#!/usr/bin/env bash
# The plugin and the metas library as installed: GStreamer finds the plugin (version and origin
# from the project), the installed plugin finds the installed model, a C program links the metas
# library, and the C++ example (derain, detect, segment, metas read from an appsink) builds against
# the installed .pc files and prints what the models found. SAPNET_FIXTURE_MODELS: the program
# that writes tiny TorchScript models (tests/install/make_fixture_models.cpp).
source "$(dirname "$0")/common.sh"
: "${SAPNET_FIXTURE_MODELS:?}"

info=$(gst-inspect-1.0 sapnet) || fail "gst-inspect-1.0 does not find the installed plugin"
grep -Eq "Filename +$libdir/gstreamer-1.0/libgstsapnet.so" <<<"$info" || fail "not the installed plugin: $info"
grep -Eq "Version +$SAPNET_PROJECT_VERSION\$" <<<"$info" || fail "the plugin's version is not the project's"
grep -Eq "Origin URL +sapnet project, see its README.md" <<<"$info" || fail "the plugin's origin"
gst-inspect-1.0 sapnetderain >/dev/null || fail "gst-inspect-1.0 sapnetderain"
[ "$(pkg-config --modversion gstreamer-sapnet-meta-1.0)" = "$SAPNET_PROJECT_VERSION" ] ||
  fail "gstreamer-sapnet-meta-1.0.pc's version"

# C linkage: a C program adds and reads both metas through the installed library.
cat >"$work/meta.c" <<'C'
#include <gst/sapnet/sapnetmeta.h>
int main(void) {
  gst_init(NULL, NULL);
  GstBuffer *b = gst_buffer_new();
  const guint8 map[6] = {0, 1, 2, 2, 1, 0};
  gst_buffer_add_sapnet_segmentation_meta(b, 3, 2, 3, map);
  const SapnetSegmentationMeta *m = gst_buffer_get_sapnet_segmentation_meta(b);
  int ok = m && sapnet_segmentation_meta_get_width(m) == 3 && m->class_map[2] == 2 &&
           sapnet_segmentation_meta_get_class_map(m)[4] == 1;
  gst_buffer_add_sapnet_rain_meta(b, 1.5, TRUE, 2);
  const SapnetRainMeta *r = gst_buffer_get_sapnet_rain_meta(b);
  ok = ok && r && sapnet_rain_meta_get_score(r) == 1.5 && r->derained && r->stages == 2;
  gst_buffer_unref(b);
  return ok ? 0 : 1;
}
C
# shellcheck disable=SC2046
cc -o "$work/meta_c" "$work/meta.c" $(pkg-config --cflags --libs gstreamer-sapnet-meta-1.0) ||
  fail "a C program does not build against the installed metas library"
"$work/meta_c" || fail "the C program could not read back its metas"

build_example detect_json gstreamer-app-1.0 gstreamer-video-1.0 gstreamer-sapnet-meta-1.0
"$SAPNET_FIXTURE_MODELS" "$work" || fail "cannot write the fixture models"
GST_DEBUG=sapnetderain:4 "$work/detect_json" "${video_args[@]}" --detector "$work/detector.pt" \
  --segmenter "$work/segmenter.pt" --frames 3 --width 160 --height 120 \
  --derain-options "stages=1 rain-meta=true" \
  >"$work/out.jsonl" 2>"$work/err.log" || { cat "$work/err.log"; fail "detect_json failed"; }
cat "$work/out.jsonl"
grep -q "model $prefix/share/sapnet/sapnet-default.sapnet" "$work/err.log" ||
  { grep -m3 "model " "$work/err.log"; fail "the installed plugin did not load the installed model"; }
python3 "$source_dir/tests/install/check_frames.py" fixtures 3 160 120 "$work/out.jsonl" ||
  fail "detect_json's output is not what the fixture models find"

# The real models of ../shared/perception, when there: YOLOv5n and ESPNet on the street clip.
perception=${SAPNET_SHARED_DIR:-}/perception
if [ -f "$perception/yolov5n_640.torchscript" ] && [ -f "$perception/espnet_city_p2q8.torchscript" ] &&
  [ ${#video_args[@]} -gt 0 ]; then
  "$work/detect_json" "${video_args[@]}" --detector "$perception/yolov5n_640.torchscript" \
    --detector-options "output-format=yolo input-width=640 input-height=640 resize=letterbox pad-value=114 score-threshold=0.25 nms-threshold=0.45" \
    --segmenter "$perception/espnet_city_p2q8.torchscript" --frames 2 \
    --derain-options "stages=2 rain-meta=true" \
    >"$work/real.jsonl" || fail "detect_json failed with YOLOv5n and ESPNet"
  cat "$work/real.jsonl"
  python3 "$source_dir/tests/install/check_frames.py" real 2 320 240 "$work/real.jsonl" ||
    fail "detect_json's output with YOLOv5n and ESPNet"
else
  echo "note: no YOLOv5n/ESPNet in ${SAPNET_SHARED_DIR:-../shared}/perception (or no vtest.avi): real models not run"
fi
echo "gst app: the installed plugin, metas library and C++ example: ok"
