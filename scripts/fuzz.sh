#!/usr/bin/env bash
# Fuzzes every parser of outside input with libFuzzer, each from its seed
# corpus in tests/fuzz/corpus/<target>/, for SECONDS each (default 60):
#
#   scripts/fuzz.sh [SECONDS] [TARGET ...]      targets: npy checkpoint options voc track seg seg_report
#
# The library is built with clang into build-fuzz/, instrumented for coverage
# and with AddressSanitizer + UndefinedBehaviorSanitizer. New inputs go to
# build-fuzz/corpus/<target>/ (the repository's corpus is only read); a crash,
# a broken resource bound (the targets abort) or a leak leaves its input in
# build-fuzz/artifacts/<target>/, to become a regression test. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(npy checkpoint options voc track seg seg_report)

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
for p in clang-14 libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$p" >/dev/null; }
done
scripts/setup.sh

export CCACHE_BASEDIR="$PWD" CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DRESKIT_FUZZ=ON -DRESKIT_SANITIZE=address,undefined -DRESKIT_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}")

export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/artifacts/$t"
  echo "fuzz_$t: ${seconds}s from tests/fuzz/corpus/$t"
  build-fuzz/fuzz_"$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/artifacts/$t/" "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" 2>&1 |
    grep -E "^(#[0-9]+ +DONE|Done|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY)" || true
  ls "build-fuzz/artifacts/$t" | sed "s|^|  artifact: build-fuzz/artifacts/$t/|"
done
