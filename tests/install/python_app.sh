#!/usr/bin/env bash
# The Python example (PyGObject) as a user runs it against the installed plugin and metas library:
# the same frames, detections and class maps as the C++ example. Skips without python3-gi and
# GStreamer's typelibs (Debian: python3-gi gir1.2-gst-plugins-base-1.0).
source "$(dirname "$0")/common.sh"
: "${SAPNET_FIXTURE_MODELS:?}"

python=""
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import gi; gi.require_version("GstApp", "1.0"); gi.require_version("GstVideo", "1.0")
from gi.repository import GstApp, GstVideo' 2>/dev/null; then python=$p; break; fi
done
[ -n "$python" ] || skip "no python3 with PyGObject and GStreamer's typelibs (apt-get install python3-gi gir1.2-gst-plugins-base-1.0)"

"$SAPNET_FIXTURE_MODELS" "$work" || fail "cannot write the fixture models"
args=("${video_args[@]}" --detector "$work/detector.pt" --segmenter "$work/segmenter.pt" --frames 3
  --width 160 --height 120 --derain-options "stages=1 rain-meta=true")
"$python" "$examples/detect_json.py" "${args[@]}" >"$work/py.jsonl" || fail "detect_json.py failed"
cat "$work/py.jsonl"
build_example detect_json gstreamer-app-1.0 gstreamer-video-1.0 gstreamer-sapnet-meta-1.0
"$work/detect_json" "${args[@]}" >"$work/cpp.jsonl" || fail "detect_json (C++) failed"
python3 "$source_dir/tests/install/check_frames.py" fixtures 3 160 120 "$work/py.jsonl" "$work/cpp.jsonl" ||
  fail "detect_json.py's output differs from the C++ example's or from what the models find"
echo "python app: the Python example reads the same metas as the C++ one: ok"
