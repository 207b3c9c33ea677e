"""Reference fixtures for seeds/001's models and for `reskit print`.

parity/seed/: for each parity case (seed_resnet, seed_layer, seed_block, built
by tests/reference/seed001.py) seeded weights with randomised BatchNorm saved
by torch.save, the input and the output (fixture_util.write_parity_case).
print/: what Python's print(model) prints for registry models
(seed_models_cases.json names each case's model and --set options; any
print/*_cases.json in that form is checked by tests/tasks/module_repr_test.cpp),
for single built-in modules (modules/<id>.txt) and Python's repr of floats."""
import os
import sys

import numpy as np
import torch
from torch import nn
from torchvision.models import resnet as tv

import seed001
from fixture_util import randomise_batchnorm, save_npy, write_json, write_parity_case, write_parity_manifest, write_text

U, B = seed001.ResidualUnit, seed001.Bottleneck

FAMILY = "seed"


def case(model, sets, build, shape):
    """Registry name and --set options; the seed's model; the input's shape."""
    return {"model": model, "sets": sets, "build": build, "shape": shape}


PARITY = {
    "res34": case("seed_resnet", ["block=residual_unit"], lambda: seed001.ResNet(U, [3, 4, 6, 3], 1000), (2, 3, 64, 64)),
    "res50_10": case("seed_resnet", ["block=bottleneck", "num_classes=10"], lambda: seed001.ResNet(B, [3, 4, 6, 3], 10),
                     (2, 3, 64, 64)),
    # 72 -> 36 after conv1: the stem's ceil_mode pool gives 18 where floor would give 17.
    "res_unit_1111_ceil": case("seed_resnet", ["layers=1,1,1,1", "num_classes=7"],
                               lambda: seed001.ResNet(U, [1, 1, 1, 1], 7), (2, 3, 72, 72)),
    "res_bottleneck_1211_odd": case("seed_resnet", ["block=bottleneck", "layers=1,2,1,1", "num_classes=5"],
                                    lambda: seed001.ResNet(B, [1, 2, 1, 1], 5), (1, 3, 75, 61)),
    "conv2_x_34": case("seed_layer", ["block=residual_unit", "middle_out=64", "num_blocks=3", "afterconv1=true"],
                       lambda: seed001.make_layers(U, 64, 3, afterconv1=True), (2, 64, 16, 16)),
    "conv4_x_34": case("seed_layer", ["middle_out=256", "num_blocks=6", "afterconv1=false"],
                       lambda: seed001.make_layers(U, 256, 6, False), (2, 128, 14, 14)),
    "conv2_x_101": case("seed_layer", ["block=bottleneck", "middle_out=64", "num_blocks=3"],
                        lambda: seed001.make_layers(B, 64, 3, afterconv1=True), (2, 64, 16, 16)),
    "conv4_x_101_4": case("seed_layer", ["block=bottleneck", "middle_out=256", "num_blocks=4", "afterconv1=false"],
                          lambda: seed001.make_layers(B, 256, 4), (1, 512, 14, 14)),
    # The seed's five single-block checks (batch 2 here; the C++ test checks the seed's batch-10 shapes).
    "conv3_x_18_0": case("seed_block", ["middle_out=128", "stride1=2"], lambda: U(out_=128, stride1=2), (2, 64, 56, 56)),
    "conv2_x_18_0": case("seed_block", ["middle_out=64"], lambda: U(out_=64), (2, 64, 56, 56)),
    "conv2_x_101_0": case("seed_block", ["block=bottleneck", "middle_out=64", "in_=64"],
                          lambda: B(in_=64, middle_out=64), (2, 64, 56, 56)),
    "conv3_x_101_0": case("seed_block", ["block=bottleneck", "middle_out=128", "stride1=2"],
                          lambda: B(middle_out=128, stride1=2), (2, 256, 56, 56)),
    "conv3_x_101_1": case("seed_block", ["block=bottleneck", "middle_out=128"], lambda: B(middle_out=128),
                          (2, 512, 28, 28)),
}


def tv_build(name, **kwargs):
    return getattr(tv, name)(weights=None, **kwargs)


# id -> (registry name, --set options, the Python model)
PRINT = {
    **{name: (name, [], (lambda n=name: tv_build(n))) for name in [
        "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
        "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"]},
    "resnet50_dilate_011": ("resnet50", ["replace_stride_with_dilation=0,1,1"],
                            lambda: tv_build("resnet50", replace_stride_with_dilation=[False, True, True])),
    "resnet50_classes10_g2w32": ("resnet50", ["num_classes=10", "groups=2", "width_per_group=32"],
                                 lambda: tv_build("resnet50", num_classes=10, groups=2, width_per_group=32)),
    "resnext50_dilate_001": ("resnext50_32x4d", ["replace_stride_with_dilation=0,0,1"],
                             lambda: tv_build("resnext50_32x4d", replace_stride_with_dilation=[False, False, True])),
    # `features` is reskit's switch for the stage outputs; the module tree is torchvision's.
    "resnet18_features": ("resnet18", ["features=true", "zero_init_residual=true"],
                          lambda: tv_build("resnet18", zero_init_residual=True)),
    "seed_res34": ("seed_resnet", [], lambda: seed001.ResNet(U, [3, 4, 6, 3], num_classes=1000)),
    "seed_res101": ("seed_resnet", ["block=bottleneck", "layers=3,4,23,3"],
                    lambda: seed001.ResNet(B, [3, 4, 23, 3], num_classes=1000)),
    "seed_res50_c10": ("seed_resnet", ["block=bottleneck", "num_classes=10"],
                       lambda: seed001.ResNet(B, [3, 4, 6, 3], num_classes=10)),
    "seed_unit_1211": ("seed_resnet", ["layers=1,2,1,1", "num_classes=7"],
                       lambda: seed001.ResNet(U, [1, 2, 1, 1], num_classes=7)),
    "seed_conv2_x_34": ("seed_layer", [], lambda: seed001.make_layers(U, 64, 3, afterconv1=True)),
    "seed_conv2_x_101": ("seed_layer", ["block=bottleneck"], lambda: seed001.make_layers(B, 64, 3, afterconv1=True)),
    "seed_conv4_x_101": ("seed_layer", ["block=bottleneck", "middle_out=256", "num_blocks=23", "afterconv1=false"],
                         lambda: seed001.make_layers(B, 256, 23)),
    "seed_layer_34_conv4_x": ("seed_layer", ["middle_out=256", "num_blocks=6", "afterconv1=false"],
                              lambda: seed001.make_layers(U, 256, 6, False)),
    "seed_conv3_x_18_0": ("seed_block", ["middle_out=128", "stride1=2"], lambda: U(out_=128, stride1=2)),
    "seed_conv2_x_18_0": ("seed_block", [], lambda: U(out_=64)),
    "seed_conv2_x_101_0": ("seed_block", ["block=bottleneck", "in_=64"], lambda: B(in_=64, middle_out=64)),
    "seed_conv3_x_101_0": ("seed_block", ["block=bottleneck", "middle_out=128", "stride1=2"],
                           lambda: B(middle_out=128, stride1=2)),
    "seed_conv3_x_101_1": ("seed_block", ["block=bottleneck", "middle_out=128"], lambda: B(middle_out=128)),
}

# id -> a built-in module; tests/tasks/module_repr_test.cpp builds the LibTorch twin.
MODULES = {
    "conv1d": lambda: nn.Conv1d(3, 4, 3),
    "conv2d_stem": lambda: nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False),
    "conv2d_dilated_grouped": lambda: nn.Conv2d(4, 8, 3, padding=2, dilation=2, groups=2),
    "conv2d_rect": lambda: nn.Conv2d(4, 8, (1, 3), stride=(2, 1), padding=(0, 1), bias=False),
    "conv2d_same_reflect": lambda: nn.Conv2d(4, 4, 3, padding="same", padding_mode="reflect"),
    "conv3d": lambda: nn.Conv3d(3, 64, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
    "conv_transpose2d": lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
    "bn2d": lambda: nn.BatchNorm2d(64),
    "bn1d_eps_none": lambda: nn.BatchNorm1d(5, eps=1e-3, momentum=None),
    "bn3d_no_affine": lambda: nn.BatchNorm3d(8, eps=0.0001, momentum=0.03, affine=False),
    "instance_norm2d": lambda: nn.InstanceNorm2d(3),
    "group_norm": lambda: nn.GroupNorm(32, 64),
    "layer_norm": lambda: nn.LayerNorm([8]),
    "relu": lambda: nn.ReLU(),
    "relu_inplace": lambda: nn.ReLU(inplace=True),
    "relu6": lambda: nn.ReLU6(),
    "leaky_relu": lambda: nn.LeakyReLU(),
    "leaky_relu_inplace": lambda: nn.LeakyReLU(0.1, inplace=True),
    "elu": lambda: nn.ELU(),
    "gelu": lambda: nn.GELU(),
    "silu": lambda: nn.SiLU(),
    "sigmoid": lambda: nn.Sigmoid(),
    "tanh": lambda: nn.Tanh(),
    "softmax": lambda: nn.Softmax(dim=1),
    "maxpool2d_torchvision": lambda: nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    "maxpool2d_seed": lambda: nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
    "maxpool2d_rect": lambda: nn.MaxPool2d((2, 3)),
    "maxpool3d": lambda: nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
    "maxpool1d": lambda: nn.MaxPool1d(3),
    "avgpool1d": lambda: nn.AvgPool1d(3),
    "avgpool2d": lambda: nn.AvgPool2d(2),
    "adaptive_avgpool2d": lambda: nn.AdaptiveAvgPool2d((1, 1)),
    "adaptive_avgpool3d": lambda: nn.AdaptiveAvgPool3d((1, 1, 1)),
    "adaptive_maxpool2d_free": lambda: nn.AdaptiveMaxPool2d((None, 7)),
    "adaptive_avgpool1d": lambda: nn.AdaptiveAvgPool1d(4),
    "linear": lambda: nn.Linear(512, 1000),
    "linear_no_bias": lambda: nn.Linear(3, 4, bias=False),
    "dropout": lambda: nn.Dropout(),
    "dropout_inplace": lambda: nn.Dropout(0.25, inplace=True),
    "dropout2d": lambda: nn.Dropout2d(0.1),
    "identity": lambda: nn.Identity(),
    "flatten": lambda: nn.Flatten(),
    "upsample_scale": lambda: nn.Upsample(scale_factor=2),
    "upsample_size": lambda: nn.Upsample(size=(8, 8), mode="bilinear", align_corners=True),
    "sequential_nested": lambda: nn.Sequential(nn.Conv2d(2, 10, 3, padding=1, bias=False),
                                               nn.Sequential(nn.BatchNorm2d(10), nn.ReLU(inplace=True)), nn.Identity()),
    "module_list": lambda: nn.ModuleList([nn.ReLU(), nn.Sequential()]),
    "seed_conv3x3_2_10": lambda: seed001.conv3x3(2, 10),
    "seed_conv1x1_2_10_zero": lambda: seed001.conv1x1(2, 10, 1, True),
}

# Floats whose repr exercises Python's rules: shortest digits, fixed vs exponent form.
FLOATS = [0.0, -0.0, 1.0, 2.0, -3.0, 0.1, 0.5, 1e-5, 1e-3, 1e-4, 0.00012345, 1.5e-7, 0.03, 1 / 3, 2 / 3, 123.456,
          1e15, 1e16, 1.5e16, 123456789012345678.0, 9999999999999998.0, 1e22, 1e100, 1e-300, 5e-324, 1.7976931348623157e308,
          0.1 + 0.2, 100.0, 12345.678, 1e-05 * 3, float("inf"), float("-inf"), float("nan")]


def make_parity(out_dir):
    for i, (case_id, c) in enumerate(PARITY.items()):
        torch.manual_seed(2000 + i)
        model = randomise_batchnorm(c["build"](), seed=100 + i).eval()
        x = torch.randn(*c["shape"])
        with torch.no_grad():
            y = model(x)
        write_parity_case(out_dir, FAMILY, case_id, c, model, [x], [y])
    write_parity_manifest(out_dir, FAMILY, PARITY, torch=torch.__version__)
    # Too small for the stem: 2x2 -> 1x1 -> the max pool has nothing to cover.
    os.makedirs(os.path.join(out_dir, "seed"), exist_ok=True)
    save_npy(os.path.join(out_dir, "seed", "tiny_input.npy"), torch.randn(1, 3, 2, 2))


def make_print(root):
    os.makedirs(os.path.join(root, "modules"), exist_ok=True)
    cases = {}
    for case_id, (name, sets, build) in PRINT.items():
        write_text(os.path.join(root, case_id + ".txt"), repr(build()) + "\n")  # what print(model) writes
        cases[case_id] = {"model": name, "sets": sets}
    write_json(os.path.join(root, "seed_models_cases.json"), cases)
    for case_id, build in MODULES.items():
        write_text(os.path.join(root, "modules", case_id + ".txt"), repr(build()) + "\n")
    write_text(os.path.join(root, "floats.txt"), "".join(f"{v:.17g}\t{v!r}\n" for v in FLOATS))
    print(f"fixture print/: {len(cases)} models, {len(MODULES)} modules, {len(FLOATS)} floats", flush=True)


def main(out_dir):
    os.makedirs(os.path.join(out_dir, "print"), exist_ok=True)
    make_print(os.path.join(out_dir, "print"))
    make_parity(out_dir)


if __name__ == "__main__":
    main(sys.argv[1])
