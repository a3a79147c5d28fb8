#!/usr/bin/env bash
# The pipeline scripts as a user meets them: --help on a checkout with no build installs and builds
# nothing; a failing `sapnet` step shows sapnet's own message instead of ending the script silently.
# Needs SAPNET_BUILD_DIR (this build: its plugin makes the clips) and opencv-doc's example video.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }

# A checkout without build/ whose .ci/install-deps only records that it ran.
mkdir -p "$work/checkout/.ci"
cp -r "$src/pipelines" "$work/checkout/"
printf '#!/bin/sh\ntouch "%s/installed"\nexit 1\n' "$work" >"$work/checkout/.ci/install-deps"
chmod +x "$work/checkout/.ci/install-deps"
for script in "$work"/checkout/pipelines/*.sh; do
  [ "$(basename "$script")" = common.sh ] && continue
  name=$(basename "$script")
  status=0
  out=$(env -u SAPNET_BUILD_DIR -u SAPNET_NO_BUILD bash "$script" --help 2>&1) || status=$?
  [ "$status" = 0 ] || fail "$name --help: status $status: $out"
  grep -q "Usage" <<<"$out" || fail "$name --help printed no usage: $out"
  [ -e "$work/installed" ] && fail "$name --help ran .ci/install-deps" && rm "$work/installed"
done

# A build folder whose sapnet fails with a message; the plugin is this build's.
if [ ! -f /usr/share/doc/opencv-doc/examples/data/vtest.avi ]; then
  echo "SKIP: opencv-doc's vtest.avi is absent (the failing-step checks)"
else
  mkdir -p "$work/build/training"
  ln -s "$SAPNET_BUILD_DIR/gst" "$work/build/gst"
  printf '#!/bin/sh\necho "sapnet stub: boom" >&2\nexit 3\n' >"$work/build/training/sapnet"
  chmod +x "$work/build/training/sapnet"
  for script in temporal.sh rain-gate.sh; do
    out=$(SAPNET_BUILD_DIR="$work/build" SAPNET_SHARED_DIR="$work/none" \
      bash "$src/pipelines/$script" --frames 2 2>&1)
    status=$?
    [ "$status" -ne 0 ] || fail "$script succeeded with a failing sapnet: $out"
    grep -q "sapnet stub: boom" <<<"$out" || fail "$script hid sapnet's message: $out"
    grep -q "sapnet failed (status 3)" <<<"$out" || fail "$script did not say which step failed: $out"
  done
fi
[ "$failed" = 0 ] && echo ok
exit "$failed"
