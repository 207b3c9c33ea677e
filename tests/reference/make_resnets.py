"""Reference fixtures for the torchvision ResNet family: seeded weights with
randomised BatchNorm, saved by torch.save (zip, and the legacy format for
some), an input and torchvision's outputs as .npy. Case ids are the ones
tests/models/resnet_parity_test.cpp lists."""
import os
import sys

import torch
import torchvision
from torchvision.models import resnet as tv

from fixture_util import randomise_batchnorm, save_npy, write_json

# id -> (registry name, --set options, torchvision builder kwargs, features, legacy copy)
CASES = {
    "resnet18": ("resnet18", [], {}, False, True),
    "resnet34": ("resnet34", [], {}, False, False),
    "resnet50": ("resnet50", [], {}, False, True),
    "resnet101": ("resnet101", [], {}, False, False),
    "resnet152": ("resnet152", [], {}, False, False),
    "resnext50_32x4d": ("resnext50_32x4d", [], {}, False, True),
    "resnext101_32x8d": ("resnext101_32x8d", [], {}, False, False),
    "resnext101_64x4d": ("resnext101_64x4d", [], {}, False, False),
    "wide_resnet50_2": ("wide_resnet50_2", [], {}, False, True),
    "wide_resnet101_2": ("wide_resnet101_2", [], {}, False, False),
    "resnet50_dilate_011": ("resnet50", ["replace_stride_with_dilation=0,1,1"],
                            {"replace_stride_with_dilation": [False, True, True]}, False, False),
    "resnet50_classes10_g2w32": ("resnet50", ["num_classes=10", "groups=2", "width_per_group=32"],
                                 {"num_classes": 10, "groups": 2, "width_per_group": 32}, False, False),
    "resnet18_features": ("resnet18", ["features=true"], {}, True, False),
    "resnet50_features_dilate_001": ("resnet50", ["features=true", "replace_stride_with_dilation=0,0,1"],
                                     {"replace_stride_with_dilation": [False, False, True]}, True, False),
}


def build(name, kwargs):
    if name == "resnext101_64x4d" and not hasattr(tv, "resnext101_64x4d"):
        return tv.ResNet(tv.Bottleneck, [3, 4, 23, 3], groups=64, width_per_group=4, **kwargs)
    return getattr(tv, name)(weights=None, **kwargs)


def stage_outputs(model, x):
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    outs = []
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        x = layer(x)
        outs.append(x)
    return outs


def main(out_dir):
    root = os.path.join(out_dir, "resnet")
    os.makedirs(root, exist_ok=True)
    manifest = {"torch": torch.__version__, "torchvision": torchvision.__version__, "cases": {}}
    for i, (case_id, (name, sets, kwargs, features, legacy)) in enumerate(CASES.items()):
        torch.manual_seed(1000 + i)
        model = randomise_batchnorm(build(name, kwargs), seed=i).eval()
        x = torch.randn(2, 3, 64, 64)
        with torch.no_grad():
            outs = stage_outputs(model, x) if features else [model(x)]
        d = os.path.join(root, case_id)
        os.makedirs(d, exist_ok=True)
        torch.save(model.state_dict(), os.path.join(d, "weights.pth"))
        if legacy:
            torch.save(model.state_dict(), os.path.join(d, "weights_legacy.pth"),
                       _use_new_zipfile_serialization=False)
        save_npy(os.path.join(d, "input.npy"), x)
        for k, o in enumerate(outs):
            save_npy(os.path.join(d, f"out{k}.npy"), o)
        with open(os.path.join(d, "keys.txt"), "w") as f:
            f.write("\n".join(model.state_dict().keys()) + "\n")
        manifest["cases"][case_id] = {"model": name, "sets": sets, "outputs": len(outs), "legacy": legacy}
        print(f"fixture resnet/{case_id}: {len(outs)} output(s)", flush=True)
    write_json(os.path.join(root, "manifest.json"), manifest)


if __name__ == "__main__":
    main(sys.argv[1])
