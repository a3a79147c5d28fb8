#!/usr/bin/env bash
# The README's test command: installs what is missing, builds and runs every test suite, and ends with
# "N passed, N failed, N skipped". Nothing here downloads more than Debian packages; CI-only checks
# (the CUDA compile, sanitizers, fuzzing) live in .ci/run.
set -uo pipefail
cd "$(dirname "$0")/.."
.ci/install-deps || exit 1
.ci/build || exit 1
meson test -C build --print-errorlogs
status=$?
# Count the GoogleTest cases (meson counts whole suites).
python3 - build/meson-logs/testlog.junit.xml <<'PY'
import sys, xml.etree.ElementTree as ET
cases = list(ET.parse(sys.argv[1]).getroot().iter('testcase'))
failed = sum(1 for c in cases if c.find('failure') is not None or c.find('error') is not None)
skipped = sum(1 for c in cases if c.find('skipped') is not None)
print(f"{len(cases) - failed - skipped} passed, {failed} failed, {skipped} skipped")
PY
exit $status
