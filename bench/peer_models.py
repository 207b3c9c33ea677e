"""The reference PyTorch model of each workload in peer_workloads.py, with
the weights every contender of bench/run_peers.py runs: seeded, BatchNorm
statistics randomised (calibrated where the fixtures calibrate them), saved
with the reference's key names, which `reskit --weights` loads.

usage: peer_models.py WORKLOAD DIR      (the project's .venv python: mmaction2 and yolov5 come from it)

writes into DIR:
  weights.pth        torch.save(model.state_dict())
  input0.npy ..      the forward's arguments (seeded), as `reskit run --input` takes them
  ref0.npy ..        PyTorch eager's outputs on them, flattened as `reskit run` numbers them
  model.onnx         the timed graph (torch.onnx.export), taking the workload's timed inputs
  prepared.json      {opset, timed_inputs, outputs, torch, export_s}

timed_module(workload, DIR) rebuilds the timed graph from these files, for
peer_time.py's PyTorch contender."""
import copy
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))

from peer_workloads import BY_NAME, size_of  # noqa: E402

SEED = 9100
OPSETS = (13, 17)  # the first that exports wins; 17 is torch 1.13's newest


def architecture(workload):
    """The reference module, its parameters as constructed (weights come later)."""
    model = workload.model
    if model in ("resnet18", "resnet50"):
        import torchvision
        return getattr(torchvision.models, model)(weights=None)
    if model == "siamban_r50":
        import siamban_reference
        return siamban_reference.SiamBAN()
    if model == "encnet_r50":
        import encnet_reference
        return encnet_reference.ENCNet()
    if model == "resnet3d":
        import make_resnet3d
        return make_resnet3d.load_resnet3d_module().ResNet3d(pretrained=None, depth=50)
    if model == "sppf":
        import make_pyramid
        return make_pyramid.load_yolov5_common().SPPF(1024, 1024, 5)  # the registry's defaults
    raise SystemExit(f"peer_models: no reference for {model}")


def seeded_inputs(workload):
    g = torch.Generator().manual_seed(SEED + 1)
    if workload.model == "siamban_r50":
        import make_siamban  # crops on 0-255 as the tracker makes them: the calibrated heads stay in range
        return [make_siamban.crop_like(g, 1, size_of(s)[-1]) for s in workload.run_sizes]
    return [torch.randn(size_of(s), generator=g) for s in workload.run_sizes]


def seeded_model(workload, inputs):
    """Seeded weights, as the fixture scripts make them: the tracker's and
    EncNet's with their BatchNorm statistics calibrated on the inputs (raw
    random statistics overflow exp(loc) or saturate the Encoding)."""
    if workload.model == "siamban_r50":
        import make_siamban
        return make_siamban.seeded_model(SEED, *inputs)
    if workload.model == "encnet_r50":
        import make_encnet
        return make_encnet.seeded_model(SEED, [], inputs[0])
    from fixture_util import randomise_batchnorm
    torch.manual_seed(SEED)
    model = architecture(workload)
    randomise_batchnorm(model, seed=SEED + 2)
    model.eval()  # mmengine's train() returns None: no chaining
    return model


class _Constant(nn.Module):
    """Stands in for a SiamBAN head's conv_kernel: the template's kernel, made once."""

    def __init__(self, value):
        super().__init__()
        self.register_buffer("value", value)

    def forward(self, _):
        return self.value


class TrackStep(nn.Module):
    """SiamBAN's per-frame step as reskit's `track` entry times it: each
    head's conv_kernel is applied to the template's features once, here,
    and kept as a constant; forward(x) is backbone and neck on the search
    crop, conv_search, depthwise xcorr, the heads and the weighted fusion."""

    def __init__(self, model, z):
        super().__init__()
        self.model = copy.deepcopy(model)
        with torch.no_grad():
            zf = self.model.neck(self.model.backbone(z))
            for i, f in enumerate(zf):
                box = getattr(self.model.head, f"box{i + 2}")
                for branch in (box.cls, box.loc):
                    branch.conv_kernel = _Constant(branch.conv_kernel(f))
        self.levels = len(zf)

    def forward(self, x):
        # The template features MultiBAN is handed are unused: the constants answer instead.
        return tuple(self.model.head([None] * self.levels, self.model.neck(self.model.backbone(x))))


def wrap_timed(workload, model, inputs):
    """The timed graph of the workload and the inputs it takes."""
    timed_inputs = [inputs[i] for i in workload.timed_inputs]
    if workload.model == "siamban_r50":
        return TrackStep(model, inputs[0]).eval(), timed_inputs
    return model, timed_inputs


def timed_module(workload, d):
    """The timed graph rebuilt from DIR's weights and inputs, and its inputs."""
    model = architecture(workload)
    model.load_state_dict(torch.load(os.path.join(d, "weights.pth")))
    model.eval()
    inputs = [torch.from_numpy(np.load(os.path.join(d, f"input{i}.npy"))) for i in range(len(workload.run_sizes))]
    return wrap_timed(workload, model, inputs)


def flatten(out):
    """Nested tuples/lists depth-first, as `reskit run` numbers its outputs."""
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for item in out for t in flatten(item)]


def export_onnx(module, inputs, outputs, path):
    """torch.onnx.export at the first opset of OPSETS that works; the opset."""
    errors = []
    for opset in OPSETS:
        try:
            torch.onnx.export(module, tuple(inputs), path, opset_version=opset,
                              input_names=[f"input{i}" for i in range(len(inputs))],
                              output_names=[f"out{k}" for k in range(outputs)], do_constant_folding=True)
            return opset
        except Exception as e:  # torch.onnx raises several unrelated types
            errors.append(f"opset {opset}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    raise SystemExit("peer_models: ONNX export failed: " + "; ".join(errors))


def prepare(workload, d):
    os.makedirs(d, exist_ok=True)
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    inputs = seeded_inputs(workload)
    model = seeded_model(workload, inputs)
    torch.save(model.state_dict(), os.path.join(d, "weights.pth"))
    for i, x in enumerate(inputs):
        np.save(os.path.join(d, f"input{i}.npy"), x.numpy().astype(np.float32))
    with torch.no_grad():
        refs = flatten(model(*inputs))
    for k, r in enumerate(refs):
        np.save(os.path.join(d, f"ref{k}.npy"), r.numpy().astype(np.float32))
    # The timed graph from the saved files, as the PyTorch contender will build it.
    timed, timed_inputs = timed_module(workload, d)
    start = time.perf_counter()
    with torch.no_grad():
        opset = export_onnx(timed, timed_inputs, len(refs), os.path.join(d, "model.onnx"))
    meta = {"workload": workload.name, "opset": opset, "timed_inputs": workload.timed_inputs, "outputs": len(refs),
            "torch": torch.__version__, "export_s": round(time.perf_counter() - start, 1)}
    with open(os.path.join(d, "prepared.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in BY_NAME:
        raise SystemExit(f"usage: peer_models.py WORKLOAD DIR   (workloads: {', '.join(BY_NAME)})")
    prepare(BY_NAME[sys.argv[1]], sys.argv[2])
