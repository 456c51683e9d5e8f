#!/usr/bin/env bash
# Every test: installs what is missing, builds Kiln, runs the lit suites (dialect,
# importer, passes, conversions, CLI, unit tests, end-to-end models and the ONNX
# conformance list) and ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
log=build/test-results.log
set +e
/usr/lib/llvm-22/bin/lit -v build/test 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
passed=$(sed -n 's/^ *Passed *: *\([0-9]*\).*/\1/p' "$log" | tail -1)
failed=$(sed -n 's/^ *Failed *: *\([0-9]*\).*/\1/p' "$log" | tail -1)
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$rc"
