#!/usr/bin/env python3
"""reskit's engines against ONNX Runtime, OpenVINO and PyTorch eager on the
same weights and inputs, workload by workload (bench/peer_workloads.py);
writes a markdown table and the JSON behind it, and prints the table.

usage: bench/run_peers.py [--only NAME ...] [--threads T] [--runs N] [--warmup N] [--rounds N]
                          [--reskit build/reskit] [--out bench-results] [--idle-wait 60]

Per workload, peer_models.py (with the project's .venv python) builds the
reference model with seeded weights, saves its state dict, a seeded input
and PyTorch's outputs, and exports the timed graph to ONNX. Contenders, each
in a process of its own:
  reskit      `reskit bench --engine eager,torchscript,fast --weights W` (one process, engines interleaved)
  onnxruntime CPU provider, T intra-op threads, 1 inter-op, sequential, all graph optimisations
  openvino    CPU, LATENCY hint, 1 stream, T threads, f32 (peer_time.py)
  pytorch     the reference itself in eager mode (Debian's python3-torch)
They alternate for --rounds rounds, the order rotating each round, so that
a noisy neighbour hits all alike; the figures are the minimum over all runs
and the median of the rounds' medians (ms), and GFLOP/s of that median from
the mult-adds `reskit bench` counts. Agreement: each contender's outputs on
the seeded input against PyTorch eager's, max|diff| / max|ref| (reskit's
through `reskit run`, eager and fast; CONTRACT.md's floor is 1e-3). For
resnet50 each contender also runs alone once more for its peak RSS."""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import machine_state  # noqa: E402
from peer_workloads import WORKLOADS  # noqa: E402

VENV_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
RESKIT_ENGINES = ["eager", "torchscript", "fast"]
PEERS = ["onnxruntime", "openvino", "pytorch"]  # peer_time.py's runtimes; pytorch is the reference in eager mode
CONTENDERS = [f"reskit {e}" for e in RESKIT_ENGINES] + PEERS
RSS_WORKLOAD = "resnet50"


def log(message):
    print(message, file=sys.stderr, flush=True)


def run_json(command):
    """The command's JSON output, or {"error": its last line of stderr}."""
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode < 0:
        return {"error": f"killed by {signal.Signals(-result.returncode).name}"}
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        return {"error": lines[-1] if lines else f"exit status {result.returncode}"}
    return json.loads(result.stdout)


def reskit_bench(args, w, weights, engines, runs, warmup):
    """One `reskit bench` process: {engine: figures or {"error"}} and the
    whole result. A process that dies with `fast` in it is run again
    without it, so that an engine in development costs only its own column."""
    command = [args.reskit, "bench", w.model, "--weights", weights, "--engine", ",".join(engines),
               "--runs", str(runs), "--warmup", str(warmup), "--threads", str(args.threads),
               "--format", "json", "--quiet"]
    for size in w.bench_sizes:
        command += ["--input-size", size]
    if w.entry:
        command += ["--entry", w.entry]
    result = run_json(command)
    if "error" in result and "fast" in engines and len(engines) > 1:
        figures, whole = reskit_bench(args, w, weights, [e for e in engines if e != "fast"], runs, warmup)
        return figures | {"fast": {"error": "the bench process died: " + result["error"]}}, whole
    if "error" in result:
        return {e: result for e in engines}, result
    return {r["engine"]: r for r in result["results"]}, result


def peer_time(args, peer, w, d, runs, warmup):
    return run_json([args.python, os.path.join(HERE, "peer_time.py"), peer, w.name, d, str(args.threads), str(runs),
                     str(warmup)])


def reskit_agreement(args, w, d, outputs):
    """`reskit run` eager and fast on the seeded inputs against PyTorch's outputs."""
    found = {}
    for engine in ("eager", "fast"):
        out_dir = os.path.join(d, f"reskit_{engine}")
        shutil.rmtree(out_dir, ignore_errors=True)
        command = [args.reskit, "run", w.model, "--weights", os.path.join(d, "weights.pth"), "--out", out_dir,
                   "--engine", engine, "--threads", str(args.threads)]
        for i in range(len(w.run_sizes)):
            command += ["--input", os.path.join(d, f"input{i}.npy")]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            found[engine] = {"error": (result.stderr.strip().splitlines() or ["failed"])[-1]}
            continue
        compared = subprocess.run([args.python, os.path.join(HERE, "agreement.py"), out_dir, d, str(outputs)],
                                  capture_output=True, text=True, check=True)
        found[engine] = float(compared.stdout)
    return found


def combine(rounds):
    """Min over all runs and median of the rounds' medians; the first error otherwise."""
    for r in rounds:
        if "error" in r:
            return {"error": r["error"]}
    return {"min_ms": min(r["min_ms"] for r in rounds), "median_ms": statistics.median(r["median_ms"] for r in rounds),
            "runs": sum(r["runs"] for r in rounds)}


def bench_workload(args, w):
    d = os.path.abspath(os.path.join(args.out, "work", w.name))
    log(f"{w.name}: reference, weights, ONNX export...")
    prepared = subprocess.run([args.python, os.path.join(HERE, "peer_models.py"), w.name, d], capture_output=True,
                              text=True)
    if prepared.returncode != 0:
        error = (prepared.stderr.strip().splitlines() or ["failed"])[-1]
        log(f"{w.name}: preparation failed: {error}")
        return {"workload": w.name, "error": error}
    with open(os.path.join(d, "prepared.json")) as f:
        meta = json.load(f)
    weights = os.path.join(d, "weights.pth")
    log(f"{w.name}: agreement (reskit run eager, fast)...")
    agreement = reskit_agreement(args, w, d, meta["outputs"])

    runs = max(2, round(args.runs * w.runs_factor / args.rounds))
    warmup = max(1, round(args.warmup * w.runs_factor))
    order = ["reskit"] + PEERS
    per_round = {c: [] for c in CONTENDERS}
    gflop, peak = None, None
    for r in range(args.rounds):
        for who in order[r % len(order):] + order[:r % len(order)]:
            log(f"{w.name}: round {r + 1}/{args.rounds}, {who} ({runs} runs after {warmup} warm-up)...")
            if who == "reskit":
                figures, whole = reskit_bench(args, w, weights, RESKIT_ENGINES, runs, warmup)
                gflop = whole.get("gflop", gflop)
                peak = peak or peak_gflops(figures.values())
                for e in RESKIT_ENGINES:
                    per_round[f"reskit {e}"].append(figures.get(e, {"error": "not reported"}))
            else:
                per_round[who].append(peer_time(args, who, w, d, runs, warmup))
    results = {}
    for c in CONTENDERS:
        results[c] = combine(per_round[c])
        if c in PEERS and "error" not in results[c]:
            first = per_round[c][0]
            results[c] |= {"max_rel_diff": first["max_rel_diff"], "version": first["version"],
                           "settings": first["settings"]}
    results["reskit eager"]["max_rel_diff"] = agreement["eager"]
    results["reskit fast"]["max_rel_diff"] = agreement["fast"]
    for c, r in results.items():
        if "median_ms" in r and gflop:
            r["gflops"] = gflop / (r["median_ms"] / 1e3)
            if peak:
                r["pct_peak"] = 100 * r["gflops"] / peak
    return {"workload": w.name, "model": w.model, "entry": w.entry or "forward", "input_sizes": w.bench_sizes,
            "timed": w.timed, "notes": w.notes, "gflop": gflop, "runs_per_round": runs, "warmup": warmup,
            "onnx_opset": meta["opset"], "peak_gflops": peak, "results": results, "rounds": per_round}


def peak_gflops(engines):
    """The machine's FMA peak as reskit reports it (gflops / pct_peak), when it does."""
    for figures in engines:
        if figures.get("pct_peak") and figures.get("gflops"):
            return figures["gflops"] / (figures["pct_peak"] / 100)
    return None


def peak_rss(args):
    """Each contender alone on resnet50 (prepared by its timing), for its peak RSS."""
    w = next(w for w in WORKLOADS if w.name == RSS_WORKLOAD)
    d = os.path.abspath(os.path.join(args.out, "work", w.name))
    found = {}
    for e in RESKIT_ENGINES:
        log(f"{w.name}: peak RSS, reskit {e} alone...")
        figures, whole = reskit_bench(args, w, os.path.join(d, "weights.pth"), [e], 3, 1)
        found[f"reskit {e}"] = whole.get("peak_rss_mb") if "error" not in figures[e] else figures[e]
    for peer in PEERS:
        log(f"{w.name}: peak RSS, {peer} alone...")
        result = peer_time(args, peer, w, d, 3, 1)
        found[peer] = result.get("peak_rss_mb", result)
    return found


def cell_diff(r):
    v = r.get("max_rel_diff")
    if isinstance(v, dict):
        return "error: " + v["error"]
    return "-" if v is None else f"{v:.1e}"


def markdown(report):
    m, lines = report["machine"], []
    lines.append(f"CPU: {m['cpu']['model']}, {m['cpu']['cpus']} CPUs usable, ISA: {' '.join(m['cpu']['isa'])}; "
                 f"{report['threads']} threads, {report['rounds']} rounds.")
    lines.append("Versions: " + "; ".join(v if k == "reskit" else f"{k} {v.split('-')[0]}"
                                       for k, v in report["versions"].items()) + ".")
    before, during = m["before"], m["interference"]
    lines.append(f"Machine: {'idle' if before['idle'] else 'NOT idle'} at start ({before['busy_fraction']:.0%} busy "
                 f"after {before['waited_s']} s, load {before['load_average'][0]}); during the run others took "
                 f"{during['others_cpu_share']:.1%} of the CPUs and steal {during['steal_share']:.1%} "
                 f"(load {during['load_average_before'][0]} -> {during['load_average_after'][0]}).")
    if m["reskit_rebuilt_during_run"]:
        lines.append("WARNING: the reskit binary was rebuilt during the run: its figures mix two builds.")
    lines.append("")
    has_peak = any(w.get("peak_gflops") for w in report["workloads"])
    lines.append("| workload | input | GFLOP | contender | min ms | median ms | GFLOP/s |" + (" % peak |" if has_peak else "") +
                 " vs fastest | max rel diff vs PyTorch |")
    lines.append("|---|---|---|---|---|---|---|" + ("---|" if has_peak else "") + "---|---|")
    for w in report["workloads"]:
        if "error" in w:
            lines.append(f"| {w['workload']} | | | | error: {w['error']} | | |" + (" |" if has_peak else "") + " | |")
            continue
        best = min((r["median_ms"] for r in w["results"].values() if "median_ms" in r), default=None)
        for i, (c, r) in enumerate(w["results"].items()):
            gflop = f"{w['gflop']:.2f}" if w["gflop"] else "-"
            head = f"| {w['workload']} | {' '.join(w['input_sizes'])} | {gflop} |" if i == 0 else "| | | |"
            if "error" in r:
                lines.append(f"{head} {c} | error: {r['error']} | | |" + (" |" if has_peak else "") +
                             f" | {cell_diff(r)} |")
                continue
            gflops = f"{r['gflops']:.1f}" if "gflops" in r else "-"
            peak = f" {r['pct_peak']:.0f}% |" if "pct_peak" in r else (" - |" if has_peak else "")
            lines.append(f"{head} {c} | {r['min_ms']:.2f} | {r['median_ms']:.2f} | {gflops} |{peak} "
                         f"{r['median_ms'] / best:.2f} | {cell_diff(r)} |")
    lines.append("")
    lines.append("ms: minimum over all runs, median of the rounds' medians; GFLOP/s and 'vs fastest' from the "
                 "median; max rel diff = max|out - PyTorch eager| / max|PyTorch eager| on a seeded input (reskit's "
                 "from `reskit run`, which has no torchscript engine).")
    lines.append("")
    lines.append("What one run times:")
    for w in report["workloads"]:
        if "error" not in w:
            lines.append(f"- {w['workload']} (`{w['model']}`{', entry ' + w['entry'] if w['entry'] != 'forward' else ''}"
                         f", {w['runs_per_round']} runs x {report['rounds']} rounds, ONNX opset {w['onnx_opset']}): "
                         f"{w['timed']}" + "".join(f"; {n}" for n in w["notes"]))
    if report.get("peak_rss_mb"):
        lines.append("")
        lines.append(f"Peak RSS, {RSS_WORKLOAD} 1x3x224x224, each contender alone in its process (MB):")
        lines.append("")
        lines.append("| " + " | ".join(report["peak_rss_mb"]) + " |")
        lines.append("|" + "---|" * len(report["peak_rss_mb"]))
        lines.append("| " + " | ".join(f"{v:.0f}" if isinstance(v, (int, float)) else "error"
                                       for v in report["peak_rss_mb"].values()) + " |")
    return "\n".join(lines) + "\n"


def versions(args, workloads):
    found = {"reskit": subprocess.run([args.reskit, "--version"], capture_output=True, text=True).stdout.strip()
             .replace("\n", ", ")}
    for w in workloads:
        for peer in PEERS:
            if "version" in w.get("results", {}).get(peer, {}):
                found.setdefault(peer, w["results"][peer]["version"])
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=[w.name for w in WORKLOADS])
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--runs", type=int, default=20, help="timed runs per contender over all rounds (scaled "
                        "down for the slow workloads)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reskit", default=os.path.join(ROOT, "build", "reskit"))
    parser.add_argument("--out", default="bench-results")
    parser.add_argument("--idle-wait", type=float, default=60, help="seconds to wait at most for an idle machine")
    args = parser.parse_args()
    if not os.access(args.reskit, os.X_OK):
        raise SystemExit(f"run_peers: no reskit binary at {args.reskit} (build it first)")
    args.python = VENV_PYTHON if os.path.exists(VENV_PYTHON) else sys.executable
    os.makedirs(args.out, exist_ok=True)

    built = os.stat(args.reskit).st_mtime
    machine = {"cpu": machine_state.cpu_summary(), "before": machine_state.wait_for_idle(args.idle_wait)}
    interference = machine_state.Interference().start()
    workloads = [bench_workload(args, w) for w in WORKLOADS if not args.only or w.name in args.only]
    rss = peak_rss(args) if any(w["workload"] == RSS_WORKLOAD and "error" not in w for w in workloads) else None
    machine["interference"] = interference.stop()
    machine["reskit_rebuilt_during_run"] = os.stat(args.reskit).st_mtime != built

    report = {"threads": args.threads, "rounds": args.rounds, "machine": machine,
              "versions": versions(args, workloads), "workloads": workloads, "peak_rss_mb": rss}
    with open(os.path.join(args.out, "peers.json"), "w") as f:
        json.dump(report, f, indent=1)
    table = markdown(report)
    with open(os.path.join(args.out, "peers.md"), "w") as f:
        f.write(table)
    print(table)


if __name__ == "__main__":
    main()
