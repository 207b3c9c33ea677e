#!/usr/bin/env python3
"""The registry's main models through `reskit bench`, next to PyTorch eager on
the reference implementation, at 1 and 2 threads; writes a markdown table and
the JSON behind it.

usage: bench/run_bench.py [--reskit build/reskit] [--out bench-results] [--runs N] [--warmup N]
                          [--rounds N] [--threads 1,2] [--only MODEL ...]

Per model and thread count, `reskit bench` interleaves its engines run by run
(eager: reskit's modules, convolutions on oneDNN; libtorch: the same modules on
LibTorch's own convolution choice, as reskit ran before; torchscript: trace,
freeze, optimize_for_inference), and reference_eager.py times PyTorch eager on
the reference (torchvision, or mmaction2 for the video models) with the same
input size and threads. The two processes alternate for --rounds rounds, so
that a noisy neighbour on a shared machine hits both alike. Figures are
milliseconds: the minimum over all runs, and the median of the rounds' medians."""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")

# model, input size, runs factor (the 3D models are slower: fewer runs)
MODELS = [
    ("resnet18", "1x3x224x224", 1.0),
    ("resnet50", "1x3x224x224", 1.0),
    ("resnet3d", "1x3x8x224x224", 0.25),
    ("i3d_r50", "1x3x32x224x224", 0.25),
]
ENGINES = ["eager", "libtorch", "torchscript"]
NETLIB_BLAS = "/usr/lib/x86_64-linux-gnu/blas"  # Debian's reference BLAS, the default before setup.sh


def run_json(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr}")
    return json.loads(result.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reskit", default=os.path.join(ROOT, "build", "reskit"))
    parser.add_argument("--out", default="bench-results")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--only", action="append")
    args = parser.parse_args()
    python = VENV_PYTHON if os.path.exists(VENV_PYTHON) else sys.executable
    os.makedirs(args.out, exist_ok=True)

    rows = []
    for name, size, factor in MODELS:
        if args.only and name not in args.only:
            continue
        runs = max(2, int(args.runs * factor / args.rounds))
        warmup = max(1, int(args.warmup * factor))
        for threads in [int(t) for t in args.threads.split(",")]:
            print(f"{name} {size} at {threads} thread(s)...", file=sys.stderr, flush=True)
            rounds = []
            for _ in range(args.rounds):
                reskit = run_json([args.reskit, "bench", name, "--input-size", size, "--engine", ",".join(ENGINES),
                                   "--threads", str(threads), "--runs", str(runs), "--warmup", str(warmup),
                                   "--format", "json", "--quiet"])
                pytorch = run_json([python, os.path.join(HERE, "reference_eager.py"), name, size, str(threads),
                                    str(runs), str(warmup)])
                rounds.append((reskit, pytorch))
            combine = lambda figures: figures[0] if any("error" in f for f in figures) else {
                "min_ms": min(f["min_ms"] for f in figures),
                "median_ms": statistics.median(f["median_ms"] for f in figures),
                "runs": sum(f["runs"] for f in figures)}
            reskit_results = [combine([r[0]["results"][i] for r in rounds]) | {"engine": engine}
                              for i, engine in enumerate(ENGINES)]
            # reskit as it ran before on a fresh Debian: LibTorch's own convolution
            # choice over the netlib reference BLAS, which setup.sh now replaces.
            old = {"error": "no netlib BLAS here"}
            if os.path.exists(os.path.join(NETLIB_BLAS, "libblas.so.3")):
                old = run_json([args.reskit, "bench", name, "--input-size", size, "--engine", "libtorch",
                                "--threads", str(threads), "--runs", str(max(2, runs // 2)), "--warmup", "1",
                                "--format", "json", "--quiet"],
                               env=dict(os.environ, LD_LIBRARY_PATH=NETLIB_BLAS))["results"][0]
            rows.append({"model": name, "input_size": size, "threads": threads, "gflop": rounds[0][0]["gflop"],
                         "reskit": reskit_results, "pytorch_eager": combine([r[1] for r in rounds]),
                         "old_eager_netlib": old, "peak_rss_mb": max(r[0]["peak_rss_mb"] for r in rounds)})

    with open(os.path.join(args.out, "bench.json"), "w") as f:
        json.dump(rows, f, indent=1)
    lines = ["| model | input | threads | reskit eager | reskit libtorch | old eager (libtorch, netlib BLAS) | "
             "reskit torchscript | PyTorch eager (python3-torch) | eager / PyTorch eager | eager / torchscript |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        by = {e["engine"]: e for e in r["reskit"]}
        cell = lambda e: f"{e['min_ms']:.1f} / {e['median_ms']:.1f}" if "min_ms" in e else e.get("error", "-")
        eager, ts, py = by["eager"], by["torchscript"], r["pytorch_eager"]
        lines.append(f"| {r['model']} | {r['input_size']} | {r['threads']} | {cell(eager)} | {cell(by['libtorch'])} | "
                     f"{cell(r['old_eager_netlib'])} | {cell(ts)} | {cell(py)} | {eager['min_ms'] / py['min_ms']:.2f} | "
                     f"{eager['min_ms'] / ts['min_ms']:.2f} |")
    lines.append("")
    lines.append(f"ms, min / median, {args.rounds} rounds; ratios of minimums. " +
                 os.popen(f"{args.reskit} --version").read().strip().replace("\n", "; "))
    table = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "bench.md"), "w") as f:
        f.write(table)
    print(table)


if __name__ == "__main__":
    main()
