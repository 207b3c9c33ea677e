#!/usr/bin/env bash
# Setup, configure and build reskit into build/ (Release, ccache when present).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# ccache hits across clones: paths under the repository are hashed relative to it.
export CCACHE_BASEDIR="$PWD" CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
