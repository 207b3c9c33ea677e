"""Reference fixtures for the torchvision ResNet family: seeded weights with
randomised BatchNorm, saved by torch.save (zip, and the legacy format for
some), an input and torchvision's outputs as .npy, for the generic parity
test (fixture_util.write_parity_case)."""
import sys

import torch
import torchvision
from torchvision.models import resnet as tv

from fixture_util import randomise_batchnorm, write_parity_case, write_parity_manifest

FAMILY = "resnet"


def case(model, sets=(), kwargs=None, features=False, legacy=False):
    """Registry name and --set options; torchvision's builder kwargs; whether
    the case returns the stage outputs; whether a legacy-format copy is saved."""
    return {"model": model, "sets": list(sets), "kwargs": kwargs or {}, "features": features, "legacy": legacy}


PARITY = {
    "resnet18": case("resnet18", legacy=True),
    "resnet34": case("resnet34"),
    "resnet50": case("resnet50", legacy=True),
    "resnet101": case("resnet101"),
    "resnet152": case("resnet152"),
    "resnext50_32x4d": case("resnext50_32x4d", legacy=True),
    "resnext101_32x8d": case("resnext101_32x8d"),
    "resnext101_64x4d": case("resnext101_64x4d"),
    "wide_resnet50_2": case("wide_resnet50_2", legacy=True),
    "wide_resnet101_2": case("wide_resnet101_2"),
    "resnet50_dilate_011": case("resnet50", ["replace_stride_with_dilation=0,1,1"],
                                {"replace_stride_with_dilation": [False, True, True]}),
    "resnet50_classes10_g2w32": case("resnet50", ["num_classes=10", "groups=2", "width_per_group=32"],
                                     {"num_classes": 10, "groups": 2, "width_per_group": 32}),
    "resnet18_features": case("resnet18", ["features=true"], features=True),
    "resnet50_features_dilate_001": case("resnet50", ["features=true", "replace_stride_with_dilation=0,0,1"],
                                         {"replace_stride_with_dilation": [False, False, True]}, features=True),
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
    for i, (case_id, c) in enumerate(PARITY.items()):
        torch.manual_seed(1000 + i)
        model = randomise_batchnorm(build(c["model"], c["kwargs"]), seed=i).eval()
        x = torch.randn(2, 3, 64, 64)
        with torch.no_grad():
            outs = stage_outputs(model, x) if c["features"] else [model(x)]
        write_parity_case(out_dir, FAMILY, case_id, c, model, [x], outs)
    write_parity_manifest(out_dir, FAMILY, PARITY, torch=torch.__version__, torchvision=torchvision.__version__)


if __name__ == "__main__":
    main(sys.argv[1])
