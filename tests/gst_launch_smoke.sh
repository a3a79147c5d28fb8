#!/usr/bin/env bash
# gst-launch-1.0 finds the plugin in the build folder and derains synthetic rain end to end; a bad model
# fails the start with the file's name.
set -u
model="$SAPNET_SHARED_DIR/weights/sapnet-official/Model11_net_latest.pth"
[ -f "$model" ] || { echo "SKIP: $model is absent"; exit 77; }
out=$(gst-launch-1.0 -e videotestsrc num-buffers=3 ! video/x-raw,width=40,height=30 ! rainsim ! \
  sapnetderain model-location="$model" stages=1 ! fakesink 2>&1) || { echo "$out"; exit 1; }
# Without model-location the bundled model is used.
out=$(gst-launch-1.0 -e videotestsrc num-buffers=2 ! video/x-raw,width=24,height=16 ! sapnetderain stages=1 ! \
  fakesink 2>&1) || { echo "bundled model: $out"; exit 1; }
bad=$(gst-launch-1.0 videotestsrc num-buffers=1 ! sapnetderain model-location=/nonexistent/m.sapnet ! fakesink 2>&1)
if [ $? -eq 0 ] || ! grep -q "/nonexistent/m.sapnet" <<<"$bad"; then echo "bad model did not fail: $bad"; exit 1; fi
echo "ok"
