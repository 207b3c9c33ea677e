#!/usr/bin/env python3
"""The pyramid pooling modules of seeds/002 and RFBNet through `reskit bench`
(eager and TorchScript interleaved in one run) at typical inputs; writes a
markdown table (parameters, ms min/median per engine) and the JSON behind it.

usage: bench/run_pyramid_bench.py [--reskit build/reskit] [--out bench-results] [--runs N] [--threads N]"""
import argparse
import json
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# model, a typical input: YOLO necks on the 20x20 stride-32 map of a 640 image,
# DeepLab v2's ASPP on ResNet-101's 41x41 map of a 321 crop, RFBNet's blocks
# where RFBNet300 uses them.
MODULES = [
    ("sppf", "1x1024x20x20"), ("spp_yolov5", "1x1024x20x20"), ("sppcspc", "1x1024x20x20"),
    ("simsppf", "1x1024x20x20"), ("sppf_v6", "1x1024x20x20"), ("simcspsppf", "1x1024x20x20"),
    ("cspsppf", "1x1024x20x20"), ("aspp", "1x2048x41x41"), ("basic_rfb", "1x1024x19x19"),
    ("basic_rfb_a", "1x512x38x38"), ("spp_net", "1x3x224x224"), ("rfbnet", "1x3x300x300"),
]
SETS = {"basic_rfb": ["in_planes=1024", "out_planes=1024"]}


def parameters(reskit, model, sets, size):
    """The parameter count `reskit summary` reports."""
    out = subprocess.run([reskit, "summary", model, *sets, "--input-size", size, "--depth", "0"],
                         capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Total params: ([\d,]+)", out).group(1).replace(",", ""))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reskit", default=os.path.join(ROOT, "build", "reskit"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench-results"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows, lines = [], ["| module | input | params | eager ms (min / median) | TorchScript ms (min / median) | eager / TS |",
                       "|---|---|---|---|---|---|"]
    for model, size in MODULES:
        sets = [a for s in SETS.get(model, []) for a in ("--set", s)]
        cmd = [args.reskit, "bench", model, *sets, "--input-size", size, "--engine", "eager,torchscript",
               "--runs", str(args.runs), "--threads", str(args.threads), "--format", "json", "--quiet"]
        result = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        params = parameters(args.reskit, model, sets, size)
        by = {r["engine"]: r for r in result["results"]}
        e, t = by["eager"], by["torchscript"]
        rows.append({"model": model, "sets": SETS.get(model, []), "input": size, "params": params, **result})
        lines.append(f"| {' '.join([model, *SETS.get(model, [])])} | {size} | {params:,} | "
                     f"{e['min_ms']:.2f} / {e['median_ms']:.2f} | {t['min_ms']:.2f} / {t['median_ms']:.2f} | "
                     f"{e['min_ms'] / t['min_ms']:.2f} |")
        print(lines[-1], flush=True)
    with open(os.path.join(args.out, "pyramid_bench.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "pyramid_bench.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
