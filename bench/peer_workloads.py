"""The workloads bench/run_peers.py times reskit and its peers on: data only,
shared by the orchestrator and the Python side (peer_models.py), so that
neither imports the other's dependencies."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Workload:
    name: str
    model: str  # reskit registry name
    bench_sizes: list  # `reskit bench --input-size`, in the timed entry's argument order
    run_sizes: list  # `reskit run --input`, the model's forward arguments (the reference's too)
    timed_inputs: list  # which of run_sizes the timed graph (ONNX, PyTorch) takes
    runs_factor: float  # slower workloads get fewer runs
    timed: str  # what one timed run is, for the table
    entry: str = ""  # `reskit bench --entry`
    notes: list = field(default_factory=list)


WORKLOADS = [
    Workload("resnet50", "resnet50", ["1x3x224x224"], ["1x3x224x224"], [0], 1.0,
             "torchvision resnet50, logits"),
    Workload("resnet18", "resnet18", ["1x3x224x224"], ["1x3x224x224"], [0], 1.0,
             "torchvision resnet18, logits"),
    Workload("resnet50_b8", "resnet50", ["8x3x224x224"], ["8x3x224x224"], [0], 0.25,
             "torchvision resnet50 at batch 8, logits"),
    # The tracker's per-frame step: search crop in, cls and loc out, with the
    # template's kernels (through each head's conv_kernel) made beforehand.
    Workload("siamban_track", "siamban_r50", ["1x3x255x255"], ["1x3x127x127", "1x3x255x255"], [1], 0.25,
             "SiamBAN track step (backbone+neck on x, xcorr heads; template kernels precomputed)", entry="track",
             notes=["agreement: reskit run takes z and x (template then track); the peers' graph is the "
                    "track step with the same z's kernels baked in, so both compare with PyTorch's forward(z, x)"]),
    Workload("encnet_r50", "encnet_r50", ["1x3x512x512"], ["1x3x512x512"], [0], 0.05,
             "EncNet r50 whole forward: backbone, EncHead, 8x upsample, cls_seg at 512x512, SE logits"),
    Workload("resnet3d", "resnet3d", ["1x3x8x224x224"], ["1x3x8x224x224"], [0], 0.1,
             "mmaction2 ResNet3d-50 backbone, layer4 features"),
    Workload("sppf", "sppf", ["1x1024x20x20"], ["1x1024x20x20"], [0], 1.0,
             "yolov5 SPPF(1024, 1024, k=5)"),
]

BY_NAME = {w.name: w for w in WORKLOADS}


def size_of(text):
    return [int(v) for v in text.split("x")]
