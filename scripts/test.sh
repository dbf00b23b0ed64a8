#!/usr/bin/env bash
# test.sh: install what is missing, build, and run every test: the normal build, then the
# same suite built with AddressSanitizer + UndefinedBehaviorSanitizer.
#   scripts/test.sh            both builds
#   AUDITD_NO_SANITIZE=1 ...   the normal build only
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
run_suite() { # name, build dir, extra cmake args...
  local name=$1 dir=$2; shift 2
  echo "== $name: configure and build ($dir)"
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1 || { tail -n 60 "$dir.build.log"; return 1; }
  grep -E 'warning:' "$dir.build.log" || true
  echo "== $name: ctest"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 600)
}

mkdir -p build
run_suite "tests" build/release
if [ -z "${AUDITD_NO_SANITIZE:-}" ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions=$root/tests/lsan.supp \
    run_suite "tests under ASan+UBSan" build/sanitize -DAUDITD_SANITIZE=ON -DAUDITD_BENCH=OFF
fi
echo "all tests passed"
