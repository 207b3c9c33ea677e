"""Reference fixtures for `reskit summary`: torchinfo 1.8.0's own table
(str(ModelStatistics)) and its numbers, for each case of SUMMARY. Shapes and counts do not depend on the
weights, so the models keep their default initialisation."""
import os
import sys

import torch
import torchinfo
from torchinfo import enums
from torchvision.models import resnet as tv

import make_resnet3d
import seed001
from fixture_util import write_json

# torchinfo 1.8.0 formats its Units enum with an f-string; Python 3.11 changed
# Enum.__format__ for str mixins to print "Units.GIGABYTES" where earlier
# Pythons (and the tables in seeds/001) print "G". Restore the value formatting,
# which is what torchinfo means (its later StrEnum does the same).
if format(enums.Units.GIGABYTES) != "G":
    enums.Units.__format__ = lambda self, spec: format(self.value, spec)

ALL_COLUMNS = ["input_size", "output_size", "num_params", "params_percent", "kernel_size", "mult_adds", "trainable"]
TORCHVISION = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
               "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"]


def case(model, sizes, depth, columns=None, rows=None, sets=(), freeze=(), kwargs=None):
    """columns/rows None: torchinfo's defaults (the CLI is then run without the flag)."""
    return {"model": model, "sets": list(sets), "input_sizes": sizes, "depth": depth, "columns": columns,
            "row_settings": rows, "freeze": list(freeze), "kwargs": kwargs or {}}


CASES = {}
for name in TORCHVISION:
    CASES[f"{name}_d1"] = case(name, [[1, 3, 64, 64]], 1)
    CASES[f"{name}_d3"] = case(name, [[1, 3, 64, 64]], 3)
    CASES[f"{name}_all"] = case(name, [[1, 3, 64, 64]], 3, ALL_COLUMNS)
CASES.update({
    "resnet18_d0": case("resnet18", [[1, 3, 32, 32]], 0),
    "resnet18_d9_names_ascii": case("resnet18", [[2, 3, 48, 40]], 9, ["kernel_size", "output_size", "num_params"],
                                    ["depth", "var_names", "ascii_only"]),
    "resnet50_d2_names_only": case("resnet50", [[2, 3, 32, 32]], 2, ["mult_adds", "input_size", "params_percent"],
                                   ["var_names"]),
    "resnet50_d3_hide_recursive": case("resnet50", [[1, 3, 32, 32]], 3, ["output_size", "params_percent"],
                                       ["depth", "hide_recursive_layers"]),
    "resnet50_d2_no_columns": case("resnet50", [[1, 3, 32, 32]], 2, [], ["depth"]),
    "resnet50_dilate_g2w32_d2": case("resnet50", [[1, 3, 64, 64]], 2, ALL_COLUMNS,
                                     sets=["replace_stride_with_dilation=0,1,1", "num_classes=10", "groups=2",
                                           "width_per_group=32"],
                                     kwargs={"replace_stride_with_dilation": [False, True, True], "num_classes": 10,
                                             "groups": 2, "width_per_group": 32}),
    # Frozen parameters: "(count)", Partial/False and Non-trainable params.
    # The CLI cannot freeze, so only the library test runs this one.
    "resnet18_frozen_d2": case("resnet18", [[1, 3, 32, 32]], 2, ["num_params", "trainable", "params_percent"],
                               freeze=["conv1.", "bn1.weight", "layer1.0.", "layer2.0.downsample.1.bias"]),
})

# seeds/001's models (tests/reference/seed001.py).
SEED_CASES = {
    "seed_conv2_x_34_d3": case("seed_layer", [[2, 64, 16, 16]], 3, ALL_COLUMNS,
                               sets=["block=residual_unit", "middle_out=64", "num_blocks=3", "afterconv1=true"]),
    "seed_conv3_x_34_d2": case("seed_layer", [[2, 64, 16, 16]], 2,
                               sets=["block=residual_unit", "middle_out=128", "num_blocks=4", "afterconv1=false"]),
    "seed_conv4_x_101_d1": case("seed_layer", [[1, 512, 8, 8]], 1,
                                sets=["block=bottleneck", "middle_out=256", "num_blocks=4", "afterconv1=false"]),
    "seed_conv3_x_101_1_d3": case("seed_block", [[2, 512, 8, 8]], 3, ALL_COLUMNS,
                                  sets=["block=bottleneck", "middle_out=128"]),
    "seed_res34_d2": case("seed_resnet", [[1, 3, 64, 64]], 2, ALL_COLUMNS,
                          sets=["block=residual_unit", "layers=3,4,6,3", "num_classes=1000"]),
    "seed_res50_d1": case("seed_resnet", [[1, 3, 64, 64]], 1,
                          sets=["block=bottleneck", "layers=3,4,6,3", "num_classes=10"]),
}


# mmaction2's ResNet3d, the same reference tests/reference/make_resnet3d.py uses.
RESNET3D_CASES = {
    "resnet3d50_d2_all": case("resnet3d", [[1, 3, 8, 64, 64]], 2, ALL_COLUMNS, kwargs={"depth": 50}),
    "resnet3d50_i3d_d1": case("resnet3d", [[1, 3, 16, 64, 64]], 1,
                              sets=["conv1_kernel=5,7,7", "conv1_stride_t=2", "pool1_stride_t=2",
                                    "inflate=1,1,1/1,0,1,0/1,0,1,0,1,0/0,1,0"],
                              kwargs={"depth": 50, "conv1_kernel": (5, 7, 7), "conv1_stride_t": 2,
                                      "pool1_stride_t": 2,
                                      "inflate": ((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0))}),
    "resnet3d18_d3": case("resnet3d", [[2, 3, 4, 32, 32]], 3, ["output_size", "num_params", "mult_adds"],
                          sets=["depth=18"], kwargs={"depth": 18}),
    # seeds/000's stage table: its settings and input, every stage returned.
    "resnet3d50_seed000_d1": case("resnet3d", [[1, 3, 16, 320, 256]], 1,
                                  sets=["conv1_kernel=5,7,7", "conv1_stride_t=2", "pool1_stride_t=2",
                                        "inflate=1,1,1,1", "out_indices=0,1,2,3"],
                                  kwargs={"depth": 50, "conv1_kernel": (5, 7, 7), "conv1_stride_t": 2,
                                          "pool1_stride_t": 2, "inflate": (1, 1, 1, 1),
                                          "out_indices": (0, 1, 2, 3)}),
    # The whole recognizer, backbone and head: torchinfo runs mmaction2's
    # forward with stage="head" (its default stops at the backbone).
    "i3d_r50_d2": case("i3d_r50", [[1, 1, 3, 8, 64, 64]], 2, ["output_size", "num_params", "mult_adds"]),
}


# Every case, by id: what tests/tasks/summary_test.cpp registers (tests/reference/list_cases.py).
SUMMARY = {**CASES, **SEED_CASES, **RESNET3D_CASES}


def build_torchvision(name, kwargs):
    if name == "resnext101_64x4d" and not hasattr(tv, "resnext101_64x4d"):
        return tv.ResNet(tv.Bottleneck, [3, 4, 23, 3], groups=64, width_per_group=4, **kwargs)
    return getattr(tv, name)(weights=None, **kwargs)


def seed_options(sets):
    return dict(s.split("=", 1) for s in sets)


def build_seed(seed001, model, sets):
    o = seed_options(sets)
    block = {"residual_unit": seed001.ResidualUnit, "bottleneck": seed001.Bottleneck}[o["block"]]
    if model == "seed_layer":
        return seed001.make_layers(block, int(o["middle_out"]), int(o["num_blocks"]), o["afterconv1"] == "true")
    if model == "seed_block":
        return block(int(o["middle_out"]))
    net = seed001.ResNet(block, [int(v) for v in o["layers"].split(",")], num_classes=int(o["num_classes"]))
    if net(torch.rand(1, 3, 64, 64)) is None:
        # The seed's ResNet.forward has no `return`; reskit returns the logits
        # (a deliberate deviation), so the reference gets the missing line.
        def forward(x):
            x = net.layer5_x(net.layer4_x(net.layer3_x(net.layer2_x(net.layer1(x)))))
            return net.fc(torch.flatten(net.avgpool(x), 1))
        net.forward = forward
    return net


def main(out_dir):
    root = os.path.join(out_dir, "summary")
    os.makedirs(root, exist_ok=True)
    manifest = {"torch": torch.__version__, "torchinfo": torchinfo.__version__, "cases": {}}
    built = {}
    for case_id, c in SUMMARY.items():
        key = (c["model"], tuple(c["sets"]))
        if key not in built or c["freeze"]:
            torch.manual_seed(0)
            if c["model"].startswith("seed_"):
                built[key] = build_seed(seed001, c["model"], c["sets"])
            elif c["model"] == "i3d_r50":
                built[key] = make_resnet3d.build_recognizer3d()
            elif c["model"] == "resnet3d":
                built[key] = make_resnet3d.load_resnet3d_module().ResNet3d(pretrained=None, **c["kwargs"])
            else:
                built[key] = build_torchvision(c["model"], c["kwargs"])
        model = built[key]
        if c["freeze"]:
            for name, p in model.named_parameters():
                if any(name.startswith(prefix) for prefix in c["freeze"]):
                    p.requires_grad_(False)
        kwargs = {}
        if c["columns"] is not None:
            kwargs["col_names"] = c["columns"]
        if c["row_settings"] is not None:
            kwargs["row_settings"] = c["row_settings"]
        if c["model"] == "i3d_r50":
            kwargs["stage"] = "head"  # passed on to Recognizer3D.forward
        stats = torchinfo.summary(model, input_size=[tuple(s) for s in c["input_sizes"]], depth=c["depth"],
                                  device="cpu", verbose=0, **kwargs)
        with open(os.path.join(root, case_id + ".txt"), "w") as f:
            f.write(str(stats) + "\n")  # what print(summary(...)) shows
        write_json(os.path.join(root, case_id + ".json"), {
            "total_params": stats.total_params,
            "trainable_params": stats.trainable_params,
            "total_mult_adds": stats.total_mult_adds,
            "total_input": stats.total_input,
            "total_output_bytes": stats.total_output_bytes,
            "total_param_bytes": stats.total_param_bytes,
        })
        if c["freeze"]:
            del built[key]
        entry = {k: v for k, v in c.items() if k != "kwargs"}
        manifest["cases"][case_id] = entry
        print(f"fixture summary/{case_id}", flush=True)
    write_json(os.path.join(root, "manifest.json"), manifest)


if __name__ == "__main__":
    main(sys.argv[1])
