#!/usr/bin/env bash
# Installs everything reskit needs on Debian: the system packages (apt-get,
# only when something is missing) and a Python venv beside Debian's
# python3-torch with the pinned PyPI tools the tests use as references.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ccache git
  libtorch-dev libopencv-dev nlohmann-json3-dev libgtest-dev
  libtinyxml2-dev  # VOC annotations
  libyaml-cpp-dev  # config.yaml files (the trackers' settings)
  libgloo-dev  # Gloo's headers, which c10d's ProcessGroupGloo.hpp includes (tasks/distributed)
  libpng-dev  # label PNGs: palette indices as stored (OpenCV expands them to colours)
  # LibTorch's CMake config looks libdnnl up; oneDNN's own (for the engine to
  # come) requires OpenCL's headers and ICD library.
  libdnnl-dev ocl-icd-opencl-dev opencl-c-headers
  # Linear layers and matmuls go to the system BLAS, by default Debian's netlib
  # reference build; OpenBLAS's OpenMP build shares LibTorch's libgomp (its
  # pthread build would start its own threads inside LibTorch's parallel regions).
  libopenblas0-openmp
  python3 python3-venv python3-numpy python3-torch python3-torchvision python3-opencv python3-yaml
  # What the pinned yolov5's models/common.py imports on the way (its utils:
  # plots, dataloaders, general), beside torch, torchvision, opencv and yaml.
  python3-pandas python3-matplotlib python3-seaborn python3-tqdm python3-requests python3-pil python3-psutil
  python3-pkg-resources
  opencv-doc
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PyPI references, pinned, next to Debian's torch (--system-site-packages).
if [ ! -x .venv/bin/python ]; then
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
# requirements-test.txt: the tests' references; requirements-bench.txt: the
# runtimes bench/run_peers.py compares reskit with.
for requirements in scripts/requirements-test.txt scripts/requirements-bench.txt; do
  wanted=$(grep -v '^#' "$requirements" | grep .)
  if [ -n "$(grep -vxF -f <(.venv/bin/python -m pip freeze 2>/dev/null) <<<"$wanted")" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -r "$requirements"
  fi
done
