"""Times the reference implementation in PyTorch eager (Debian's python3-torch),
the baseline bench/run_bench.py sets beside `reskit bench`.

usage: reference_eager.py MODEL SIZE THREADS RUNS WARMUP   ->  one JSON line {"min_ms", "median_ms", "runs"}

MODEL is a reskit registry name: torchvision's ResNets, or resnet3d / i3d_r50
through the pinned mmaction2 (run with the project's .venv python)."""
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))


def build(name):
    if name in ("resnet3d", "i3d_r50"):
        import make_resnet3d
        if name == "resnet3d":
            return make_resnet3d.load_resnet3d_module().ResNet3d(pretrained=None, depth=50), lambda m, x: m(x)
        return make_resnet3d.build_recognizer3d(), lambda m, x: make_resnet3d.class_scores(m, x)
    import torchvision
    return getattr(torchvision.models, name)(weights=None), lambda m, x: m(x)


def main(name, size, threads, runs, warmup):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model, forward = build(name)
    model.eval()  # mmengine's train() returns None: no chaining
    x = torch.randn(*size)
    times = []
    with torch.no_grad():
        for i in range(warmup + runs):
            start = time.perf_counter()
            forward(model, x)
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1e3)
    print(json.dumps({"min_ms": min(times), "median_ms": statistics.median(times), "runs": runs}))


if __name__ == "__main__":
    main(sys.argv[1], [int(v) for v in sys.argv[2].split("x")], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
