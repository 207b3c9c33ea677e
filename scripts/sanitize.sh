#!/usr/bin/env bash
# The suite under sanitizers (not part of CI: it takes a while):
#
#   scripts/sanitize.sh [address|thread] [ctest args ...]
#
# address (default): everything built with AddressSanitizer +
#   UndefinedBehaviorSanitizer into build-asan/, and every test run there.
# thread: ThreadSanitizer into build-tsan/, and the tests of the code that
#   uses threads (concurrent inference, the progress display, bench). libgomp
#   is not instrumented, so LibTorch runs with one intra-op thread there:
#   what is checked is reskit's own sharing between callers' threads.
# Neither needs a suppression: the runs are clean (tests/sanitizers/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-address}
shift || true
scripts/setup.sh
export CCACHE_BASEDIR="$PWD" CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
case "$kind" in
  address)
    dir=build-asan
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESKIT_SANITIZE=address,undefined >/dev/null
    export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:detect_odr_violation=0"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    filter=()
    ;;
  thread)
    dir=build-tsan
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESKIT_SANITIZE=thread >/dev/null
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
    export OMP_NUM_THREADS=1
    filter=(-R "Concurrency|Progress|Bench\.")
    ;;
  *) echo "usage: scripts/sanitize.sh [address|thread] [ctest args ...]" >&2; exit 2 ;;
esac
cmake --build "$dir" -j"$(nproc)"
ctest --test-dir "$dir" --output-on-failure "${filter[@]}" "$@"
