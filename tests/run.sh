#!/usr/bin/env bash
# Installs what is missing, builds and runs every test suite ("N passed, N failed, N skipped"), then
# compiles the CUDA build (.ci/cuda-compile; SAPNET_SKIP_CUDA_COMPILE=1 skips it).
set -uo pipefail
cd "$(dirname "$0")/.."
.ci/install-deps || exit 1
.ci/build || exit 1
meson test -C build --print-errorlogs
status=$?
# The CUDA path cannot rot between GPU sessions: compile and link it against PyPI's CUDA LibTorch.
if [ -z "${SAPNET_SKIP_CUDA_COMPILE:-}" ]; then
  .ci/cuda-compile || { echo "cuda-compile: FAILED"; status=1; }
fi
# Count the GoogleTest cases (meson counts whole suites).
python3 - build/meson-logs/testlog.junit.xml <<'PY'
import sys, xml.etree.ElementTree as ET
cases = list(ET.parse(sys.argv[1]).getroot().iter('testcase'))
failed = sum(1 for c in cases if c.find('failure') is not None or c.find('error') is not None)
skipped = sum(1 for c in cases if c.find('skipped') is not None)
print(f"{len(cases) - failed - skipped} passed, {failed} failed, {skipped} skipped")
PY
exit $status
