"""Times one of reskit's peers on a workload that peer_models.py prepared, in a
process of its own (so that each runtime's threads, allocator and peak RSS
are its own).

usage: peer_time.py RUNTIME WORKLOAD DIR THREADS RUNS WARMUP
         RUNTIME: onnxruntime | openvino | pytorch (the reference in eager mode)
prints one JSON object: min_ms, median_ms, runs, max_rel_diff (the worst
output's max|out - ref| / max|ref| against PyTorch eager's outputs in DIR),
peak_rss_mb, version, settings (as the runtime reports them back)."""
import json
import os
import resource
import statistics
import sys
import time

import numpy as np


def onnxruntime_runner(d, threads):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(os.path.join(d, "model.onnx"), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    settings = {"provider": session.get_providers()[0], "intra_op_num_threads": threads, "inter_op_num_threads": 1,
                "execution_mode": "sequential", "graph_optimization_level": "all"}
    return lambda xs: session.run(None, dict(zip(names, xs))), ort.__version__, settings


def openvino_runner(d, threads):
    import openvino as ov
    core = ov.Core()
    # Latency mode on one stream; f32 named explicitly, since on CPUs with
    # AMX (and avx512_bf16) OpenVINO otherwise runs bf16 without saying so.
    config = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1", "INFERENCE_NUM_THREADS": str(threads),
              "INFERENCE_PRECISION_HINT": "f32"}
    compiled = core.compile_model(core.read_model(os.path.join(d, "model.onnx")), "CPU", config)
    request = compiled.create_infer_request()
    # Read back: a precision comes as an ov.Type, named by get_type_name() ("f32").
    settings = {k: compiled.get_property(k) for k in config}
    settings = {k: v.get_type_name() if isinstance(v, ov.Type) else str(v) for k, v in settings.items()}
    outputs = compiled.outputs

    def run(xs):
        result = request.infer(xs, share_inputs=True)
        return [result[o] for o in outputs]
    return run, ov.get_version(), settings


def pytorch_runner(d, threads, workload):
    import torch
    import peer_models
    torch.set_num_threads(threads)
    module, _ = peer_models.timed_module(workload, d)

    def run(xs):
        with torch.no_grad():
            return [t.numpy() for t in peer_models.flatten(module(*[torch.from_numpy(x) for x in xs]))]
    return run, torch.__version__, {"threads": torch.get_num_threads(), "mode": "eager, no_grad"}


def main(runtime, workload_name, d, threads, runs, warmup):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from agreement import max_rel_diff
    from peer_workloads import BY_NAME
    workload = BY_NAME[workload_name]
    with open(os.path.join(d, "prepared.json")) as f:
        timed_inputs = json.load(f)["timed_inputs"]
    xs = [np.load(os.path.join(d, f"input{i}.npy")) for i in timed_inputs]
    if runtime == "onnxruntime":
        run, version, settings = onnxruntime_runner(d, threads)
    elif runtime == "openvino":
        run, version, settings = openvino_runner(d, threads)
    elif runtime == "pytorch":
        run, version, settings = pytorch_runner(d, threads, workload)
    else:
        raise SystemExit(f"peer_time: unknown runtime {runtime}")
    diff = max_rel_diff(run(xs), d)  # the first call doubles as a warm-up
    times = []
    for i in range(warmup - 1 + runs):
        start = time.perf_counter()
        run(xs)
        if i >= warmup - 1:
            times.append((time.perf_counter() - start) * 1e3)
    print(json.dumps({"min_ms": min(times), "median_ms": statistics.median(times), "runs": runs,
                      "max_rel_diff": diff, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "version": version, "settings": settings}))


if __name__ == "__main__":
    if len(sys.argv) != 7:
        raise SystemExit(__doc__.split("\n\n")[1])
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
