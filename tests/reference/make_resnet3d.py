"""Reference fixtures for resnet3d and i3d_r50: mmaction2's own ResNet3d and
Recognizer3D (the pinned PyPI release) with seeded weights and randomised BatchNorm, saved by
torch.save, an input clip and its outputs as .npy; and print(model) for
`reskit print`. Case ids are the ones tests/models/resnet3d_test.cpp lists."""
import functools
import importlib
import importlib.util
import os
import sys
import types

import torch

from fixture_util import outputs_as_list, randomise_batchnorm, save_npy, write_json


@functools.lru_cache(maxsize=None)  # a second load would register ResNet3d twice
def load_resnet3d_module():
    """mmaction2 1.2.0's wheel lacks models/localizers/drn, so importing
    mmaction.models fails; the backbone's own file imports cleanly alone."""
    import mmaction
    path = os.path.join(mmaction.__path__[0], "models", "backbones", "resnet3d.py")
    spec = importlib.util.spec_from_file_location("mmaction_resnet3d", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_recognizer3d(num_classes=400, dropout_ratio=0.5):
    """configs/_base_/models/i3d_r50.py built by mmaction2's registry. The
    packages on the way are entered without their __init__ (which would
    import every model, the missing drn among them)."""
    import mmaction
    from mmengine.registry import DefaultScope
    load_resnet3d_module()  # registers ResNet3d
    root = mmaction.__path__[0]
    for sub in ("models", "models.heads", "models.recognizers", "models.data_preprocessors", "models.losses"):
        name = "mmaction." + sub
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [os.path.join(root, *sub.split("."))]
            sys.modules[name] = package
    importlib.import_module("mmaction.models.heads.i3d_head")
    importlib.import_module("mmaction.models.recognizers.recognizer3d")
    importlib.import_module("mmaction.models.data_preprocessors.data_preprocessor")
    importlib.import_module("mmaction.models.losses.cross_entropy_loss")
    from mmaction.registry import MODELS
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance("reskit_fixtures", scope_name="mmaction")
    return MODELS.build(dict(
        type="Recognizer3D",
        backbone=dict(type="ResNet3d", pretrained2d=True, pretrained=None, depth=50, conv1_kernel=(5, 7, 7),
                      conv1_stride_t=2, pool1_stride_t=2, conv_cfg=dict(type="Conv3d"), norm_eval=False,
                      inflate=I3D_INFLATE, zero_init_residual=False),
        cls_head=dict(type="I3DHead", num_classes=num_classes, in_channels=2048, spatial_type="avg",
                      dropout_ratio=dropout_ratio, init_std=0.01, average_clips="prob"),
        data_preprocessor=dict(type="ActionDataPreprocessor", mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], format_shape="NCTHW")))


def class_scores(recognizer, x):
    """mmaction2's own forward: clips N x clips x C x T x H x W to one row of
    class scores each; a 5-D batch is N samples of one clip."""
    if x.dim() == 5:
        x = x.unsqueeze(1)
    return recognizer(x, mode="tensor", stage="head")


I3D_INFLATE = ((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0))

# id -> (--set options, build_recognizer3d kwargs, input)
I3D_CASES = {
    "i3d_r50_two_clips": ([], {}, (1, 2, 3, 8, 48, 48)),
    "i3d_r50_classes10_no_dropout": (["num_classes=10", "dropout_ratio=0"], {"num_classes": 10, "dropout_ratio": 0},
                                     (2, 3, 8, 32, 32)),
}

# id -> (--set options, mmaction2 ResNet3d kwargs, input clip N x C x T x H x W)
CASES = {
    "resnet3d50": ([], {"depth": 50}, (1, 3, 8, 64, 64)),
    "resnet3d18_two_clips": (["depth=18"], {"depth": 18}, (2, 3, 6, 48, 40)),
    "resnet3d50_i3d": (["conv1_kernel=5,7,7", "conv1_stride_t=2", "pool1_stride_t=2",
                        "inflate=1,1,1/1,0,1,0/1,0,1,0,1,0/0,1,0"],
                       {"depth": 50, "conv1_kernel": (5, 7, 7), "conv1_stride_t": 2, "pool1_stride_t": 2,
                        "inflate": I3D_INFLATE}, (1, 3, 16, 64, 64)),
    "resnet3d50_3x3x3_all_stages": (["inflate_style=3x3x3", "inflate=0,1,1,0", "out_indices=0,1,2,3",
                                     "temporal_strides=1,1,2,1", "dilations=1,1,1,2", "spatial_strides=1,2,2,1",
                                     "with_pool2=false"],
                                    {"depth": 50, "inflate_style": "3x3x3", "inflate": (0, 1, 1, 0),
                                     "out_indices": (0, 1, 2, 3), "temporal_strides": (1, 1, 2, 1),
                                     "dilations": (1, 1, 1, 2), "spatial_strides": (1, 2, 2, 1), "with_pool2": False},
                                    (1, 3, 8, 48, 48)),
    "resnet3d34_no_inflate": (["depth=34", "inflate=0"], {"depth": 34, "inflate": 0}, (1, 3, 4, 32, 32)),
}

# Printed only (too large to be worth a parity fixture): the deeper variants' trees.
PRINT_ONLY = {
    "resnet3d101": (["depth=101"], {"depth": 101}),
    "resnet3d152_i3d": (["depth=152", "conv1_stride_t=2", "pool1_stride_t=2"],
                        {"depth": 152, "conv1_stride_t": 2, "pool1_stride_t": 2}),
}


def write_text(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def parity_cases(r3d):
    """(case id, registry name, --set options, builder, forward to a list of outputs, input shape)."""
    for case_id, (sets, kwargs, shape) in CASES.items():
        yield (case_id, "resnet3d", sets, lambda kw=kwargs: r3d.ResNet3d(pretrained=None, **kw),
               lambda m, x: outputs_as_list(m(x)), shape)
    for case_id, (sets, kwargs, shape) in I3D_CASES.items():
        yield (case_id, "i3d_r50", sets, lambda kw=kwargs: build_recognizer3d(**kw),
               lambda m, x: [class_scores(m, x)], shape)


def main(out_dir):
    r3d = load_resnet3d_module()
    root = os.path.join(out_dir, "resnet3d")
    prints = os.path.join(out_dir, "print")
    os.makedirs(root, exist_ok=True)
    os.makedirs(prints, exist_ok=True)
    manifest, print_cases = {}, {}
    for i, (case_id, name, sets, build, forward, shape) in enumerate(parity_cases(r3d)):
        torch.manual_seed(3000 + i)
        model = randomise_batchnorm(build(), seed=300 + i)
        model.eval()  # mmengine's train() returns None, so no chaining
        x = torch.randn(*shape)
        with torch.no_grad():
            outs = forward(model, x)
        d = os.path.join(root, case_id)
        os.makedirs(d, exist_ok=True)
        torch.save(model.state_dict(), os.path.join(d, "weights.pth"))
        save_npy(os.path.join(d, "input.npy"), x)
        for k, o in enumerate(outs):
            save_npy(os.path.join(d, f"out{k}.npy"), o)
        write_text(os.path.join(d, "keys.txt"), "\n".join(model.state_dict().keys()) + "\n")
        write_text(os.path.join(prints, case_id + ".txt"), repr(model) + "\n")
        manifest[case_id] = {"model": name, "sets": sets, "outputs": len(outs)}
        print_cases[case_id] = {"model": name, "sets": sets}
        print(f"fixture resnet3d/{case_id}: {[tuple(o.shape) for o in outs]}", flush=True)
    for case_id, (sets, kwargs) in PRINT_ONLY.items():
        write_text(os.path.join(prints, case_id + ".txt"), repr(r3d.ResNet3d(pretrained=None, **kwargs)) + "\n")
        print_cases[case_id] = {"model": "resnet3d", "sets": sets}
    write_json(os.path.join(root, "manifest.json"), manifest)
    write_json(os.path.join(prints, "resnet3d_cases.json"), print_cases)


if __name__ == "__main__":
    main(sys.argv[1])
