#!/usr/bin/env bash
# Eager parity of a CUDA device against the CPU, on a machine whose PyTorch
# has CUDA and which has no package registry (no OpenCV, GoogleTest):
#
#   scripts/device_check.sh stage         # here, where apt works: nlohmann_json into .deps/
#   scripts/device_check.sh [DEVICE]      # there: build against python3's LibTorch, compare
#
# The build (library + CLI only) goes to build-device/. Each model runs with
# `reskit run` from the same seeded weights and input on the CPU and on DEVICE
# (default cuda); every output must agree to 1e-4 x max|cpu output|.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}

if [ "${1:-}" = stage ]; then
  rm -rf .deps && mkdir -p .deps/include .deps/share/cmake
  cp -r /usr/include/nlohmann .deps/include/
  cp -r /usr/share/cmake/nlohmann_json .deps/share/cmake/
  echo "device_check: staged nlohmann_json in .deps/ (carry it to the device machine)"
  exit 0
fi
device=${1:-cuda}

mkdir -p build-device
torch_prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
cmake -S . -B build-device -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_prefix;$PWD/.deps" \
  -DRESKIT_WITH_OPENCV=OFF -DRESKIT_BUILD_TESTS=OFF >build-device/build.log 2>&1 ||
  { tail -20 build-device/build.log; exit 1; }
cmake --build build-device -j"$(nproc)" >>build-device/build.log 2>&1 || { tail -40 build-device/build.log; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" - "$work" "$device" <<'PY'
import ast, struct, subprocess, sys, time, torch

work, device = sys.argv[1], sys.argv[2]
reskit = "build-device/reskit"

def write_npy(path, t):  # numpy's format 1.0, '<f4', C order; no numpy needed
    t = t.contiguous().float()
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (tuple(t.shape),)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(bytes(t.view(torch.uint8).reshape(-1).tolist()))

def read_npy(path):
    data = open(path, "rb").read()
    n = struct.unpack("<H", data[8:10])[0]
    header = ast.literal_eval(data[10:10 + n].decode())
    return torch.frombuffer(bytearray(data[10 + n:]), dtype=torch.float32).reshape(header["shape"])

cases = [  # model, --set options, input size
    ("resnet18", [], (2, 3, 224, 224)),
    ("resnet50", [], (2, 3, 224, 224)),
    ("resnext50_32x4d", [], (1, 3, 224, 224)),
    ("wide_resnet50_2", [], (1, 3, 160, 160)),
    ("resnet50", ["replace_stride_with_dilation=0,1,1", "features=true"], (1, 3, 224, 224)),
    ("seed_resnet", [], (2, 3, 224, 224)),
    ("resnet3d", ["depth=18"], (2, 3, 8, 112, 112)),
    ("i3d_r50", [], (1, 2, 3, 16, 112, 112)),
]
torch.manual_seed(0)
failures = 0
for i, (model, sets, size) in enumerate(cases):
    x = f"{work}/x{i}.npy"
    write_npy(x, torch.randn(size))
    runs = []  # (output dir, seconds): the CPU's, then the device's
    for j, dev in enumerate(("cpu", device)):
        out = f"{work}/{i}_{j}"
        cmd = [reskit, "run", model, "--input", x, "--out", out, "--device", dev]
        for s in sets:
            cmd += ["--set", s]
        start = time.time()
        subprocess.run(cmd, check=True)
        runs.append((out, time.time() - start))
    k, worst_rel = 0, 0.0
    while True:
        try:
            ref = read_npy(f"{runs[0][0]}/out{k}.npy")
        except FileNotFoundError:
            break
        got = read_npy(f"{runs[1][0]}/out{k}.npy")
        rel = ((got - ref).abs().max() / ref.abs().max().clamp_min(1e-12)).item() if got.shape == ref.shape else float("inf")
        worst_rel = max(worst_rel, rel)
        k += 1
    ok = k > 0 and worst_rel <= 1e-4
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {model:18s} {' '.join(sets):45s} {k} output(s)  max err {worst_rel:.2e} x max|cpu|"
          f"  (run: cpu {runs[0][1]:.1f} s, {device} {runs[1][1]:.1f} s)", flush=True)
print(f"device_check: {len(cases) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
PY
