"""Reference fixtures for resnet3d and i3d_r50: mmaction2's own ResNet3d and
Recognizer3D (the pinned PyPI release) with seeded weights and randomised BatchNorm, saved by
torch.save, an input clip and its outputs as .npy (fixture_util.write_parity_case);
and print(model) for `reskit print`."""
import functools
import importlib
import importlib.util
import os
import sys
import types

import torch

from fixture_util import outputs_as_list, randomise_batchnorm, save_npy, write_json, write_parity_case, write_parity_manifest, \
    write_text


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

FAMILY = "resnet3d"


def case(model, sets, kwargs, shape):
    """Registry name and --set options; the reference's kwargs; the input clip's shape."""
    return {"model": model, "sets": sets, "kwargs": kwargs, "shape": shape}


PARITY = {
    # mmaction2's ResNet3d(pretrained=None, **kwargs); input N x C x T x H x W
    "resnet3d50": case("resnet3d", [], {"depth": 50}, (1, 3, 8, 64, 64)),
    "resnet3d18_two_clips": case("resnet3d", ["depth=18"], {"depth": 18}, (2, 3, 6, 48, 40)),
    "resnet3d50_i3d": case("resnet3d", ["conv1_kernel=5,7,7", "conv1_stride_t=2", "pool1_stride_t=2",
                                        "inflate=1,1,1/1,0,1,0/1,0,1,0,1,0/0,1,0"],
                           {"depth": 50, "conv1_kernel": (5, 7, 7), "conv1_stride_t": 2, "pool1_stride_t": 2,
                            "inflate": I3D_INFLATE}, (1, 3, 16, 64, 64)),
    "resnet3d50_3x3x3_all_stages": case("resnet3d", ["inflate_style=3x3x3", "inflate=0,1,1,0", "out_indices=0,1,2,3",
                                                     "temporal_strides=1,1,2,1", "dilations=1,1,1,2",
                                                     "spatial_strides=1,2,2,1", "with_pool2=false"],
                                        {"depth": 50, "inflate_style": "3x3x3", "inflate": (0, 1, 1, 0),
                                         "out_indices": (0, 1, 2, 3), "temporal_strides": (1, 1, 2, 1),
                                         "dilations": (1, 1, 1, 2), "spatial_strides": (1, 2, 2, 1),
                                         "with_pool2": False}, (1, 3, 8, 48, 48)),
    "resnet3d34_no_inflate": case("resnet3d", ["depth=34", "inflate=0"], {"depth": 34, "inflate": 0},
                                  (1, 3, 4, 32, 32)),
    # the stride on a Bottleneck3d's first 1x1 conv
    "resnet3d50_caffe": case("resnet3d", ["style=caffe", "temporal_strides=1,2,1,1"],
                             {"depth": 50, "style": "caffe", "temporal_strides": (1, 2, 1, 1)}, (1, 3, 8, 48, 48)),
    "resnet3d18_base32_no_pool1": case("resnet3d", ["depth=18", "base_channels=32", "with_pool1=false",
                                                    "out_indices=0,3"],
                                       {"depth": 18, "base_channels": 32, "with_pool1": False, "out_indices": (0, 3)},
                                       (2, 3, 4, 32, 32)),
    "resnet3d50_3_stages": case("resnet3d", ["num_stages=3", "spatial_strides=1,2,2", "temporal_strides=1,1,1",
                                             "dilations=1,1,2", "out_indices=1,2", "in_channels=2",
                                             "conv1_stride_s=1", "pool1_stride_s=1"],
                                {"depth": 50, "num_stages": 3, "spatial_strides": (1, 2, 2),
                                 "temporal_strides": (1, 1, 1), "dilations": (1, 1, 2), "out_indices": (1, 2),
                                 "in_channels": 2, "conv1_stride_s": 1, "pool1_stride_s": 1}, (1, 2, 4, 24, 24)),
    # mmcv's NonLocal3d after blocks: the official I3D-NL settings, then each mode
    "resnet3d50_non_local_i3d": case("resnet3d", ["non_local=0,0,0/1,0,1,0/1,0,1,0,1,0/0,0,0",
                                                  "non_local_cfg.sub_sample=true", "non_local_cfg.use_scale=false",
                                                  "non_local_cfg.norm_cfg.type=BN3d"],
                                     {"depth": 50, "non_local": ((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0)),
                                      "non_local_cfg": {"sub_sample": True, "use_scale": False,
                                                        "norm_cfg": {"type": "BN3d", "requires_grad": True},
                                                        "mode": "embedded_gaussian"}}, (1, 3, 8, 64, 64)),
    "resnet3d18_non_local_gaussian": case("resnet3d", ["depth=18", "non_local=0,1,1,0", "non_local_cfg.mode=gaussian",
                                                       "non_local_cfg.sub_sample=true"],
                                          {"depth": 18, "non_local": (0, 1, 1, 0),
                                           "non_local_cfg": {"mode": "gaussian", "sub_sample": True}},
                                          (1, 3, 4, 64, 64)),
    "resnet3d18_non_local_gaussian_full": case("resnet3d", ["depth=18", "non_local=0,1,0,0",
                                                            "non_local_cfg.mode=gaussian"],
                                               {"depth": 18, "non_local": (0, 1, 0, 0),
                                                "non_local_cfg": {"mode": "gaussian"}}, (1, 3, 4, 48, 48)),
    "resnet3d18_non_local_dot_product": case("resnet3d", ["depth=18", "non_local=1,1/0,1/0,0/1,0",
                                                          "non_local_cfg.mode=dot_product",
                                                          "non_local_cfg.reduction=4"],
                                             {"depth": 18, "non_local": ((1, 1), (0, 1), (0, 0), (1, 0)),
                                              "non_local_cfg": {"mode": "dot_product", "reduction": 4}},
                                             (1, 3, 4, 48, 48)),
    "resnet3d18_non_local_concatenation": case("resnet3d", ["depth=18", "non_local=0,1,1,0",
                                                            "non_local_cfg.mode=concatenation",
                                                            "non_local_cfg.norm_cfg.type=BN3d"],
                                               {"depth": 18, "non_local": (0, 1, 1, 0),
                                                "non_local_cfg": {"mode": "concatenation",
                                                                  "norm_cfg": {"type": "BN3d"}}},
                                               (1, 3, 4, 48, 48)),
    # norm_cfg / act_cfg as mmcv's ConvModule builds them
    "resnet3d18_gn_leaky": case("resnet3d", ["depth=18", "norm_cfg.type=GN", "norm_cfg.num_groups=16",
                                             "act_cfg.type=LeakyReLU", "act_cfg.negative_slope=0.1",
                                             "zero_init_residual=false"],
                                {"depth": 18, "norm_cfg": {"type": "GN", "num_groups": 16},
                                 "act_cfg": {"type": "LeakyReLU", "negative_slope": 0.1, "inplace": True},
                                 "zero_init_residual": False}, (1, 3, 4, 32, 32)),
    "resnet3d18_bn_eps_sigmoid": case("resnet3d", ["depth=18", "norm_cfg.eps=0.001", "norm_cfg.momentum=0.05",
                                                   "norm_cfg.requires_grad=false", "act_cfg.type=Sigmoid"],
                                      {"depth": 18, "norm_cfg": {"type": "BN3d", "eps": 1e-3, "momentum": 0.05,
                                                                 "requires_grad": False},
                                       "act_cfg": {"type": "Sigmoid"}}, (1, 3, 4, 32, 32)),
    # build_recognizer3d(**kwargs); a 6-D input is N x clips x C x T x H x W
    "i3d_r50_two_clips": case("i3d_r50", [], {}, (1, 2, 3, 8, 48, 48)),
    "i3d_r50_classes10_no_dropout": case("i3d_r50", ["num_classes=10", "dropout_ratio=0"],
                                         {"num_classes": 10, "dropout_ratio": 0}, (2, 3, 8, 32, 32)),
}

# Printed only (too large to be worth a parity fixture): the deeper variants' trees.
PRINT_ONLY = {
    "resnet3d101": (["depth=101"], {"depth": 101}),
    "resnet3d152_i3d": (["depth=152", "conv1_stride_t=2", "pool1_stride_t=2"],
                        {"depth": 152, "conv1_stride_t": 2, "pool1_stride_t": 2}),
}


# Training-mode behaviour: one forward and backward in train(), then the
# output, the gradients and every buffer (frozen stages and norm_eval keep
# BatchNorm statistics; with_cp recomputes blocks, BN statistics included).
TRAIN = {
    "frozen1_cp_non_local": (["depth=18", "frozen_stages=1", "with_cp=true", "non_local=0,0,1,0"],
                             {"depth": 18, "frozen_stages": 1, "with_cp": True, "non_local": (0, 0, 1, 0)}),
    "frozen2_norm_eval": (["depth=18", "frozen_stages=2", "norm_eval=true"],
                          {"depth": 18, "frozen_stages": 2, "norm_eval": True}),
    "cp_all": (["depth=18", "with_cp=true", "inflate=0,1,0,1"],
               {"depth": 18, "with_cp": True, "inflate": (0, 1, 0, 1)}),
}


def randomise_non_local(model, seed):
    """mmcv zero-initialises conv_out, which would make every block the identity."""
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        if "non_local_block" in name and not name.endswith(("bn.weight", "bn.bias")):
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)


def write_train_cases(r3d, out_dir):
    for i, (case_id, (sets, kwargs)) in enumerate(TRAIN.items()):
        d = os.path.join(out_dir, "resnet3d_train", case_id)
        os.makedirs(d, exist_ok=True)
        torch.manual_seed(4000 + i)
        model = r3d.ResNet3d(pretrained=None, **kwargs)
        randomise_batchnorm(model, seed=400 + i)
        randomise_non_local(model, seed=40 + i)
        torch.save(model.state_dict(), os.path.join(d, "weights.pth"))
        model.train()
        x = torch.randn(2, 3, 4, 32, 32, requires_grad=True)
        out = model(x)
        r = torch.randn(out.shape)
        (out * r).sum().backward()
        save_npy(os.path.join(d, "input.npy"), x)
        save_npy(os.path.join(d, "r.npy"), r)
        save_npy(os.path.join(d, "out.npy"), out)
        save_npy(os.path.join(d, "input_grad.npy"), x.grad)
        grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
        torch.save(grads, os.path.join(d, "grads.pth"))
        torch.save(dict(model.named_buffers()), os.path.join(d, "buffers.pth"))
        frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
        write_json(os.path.join(d, "case.json"), {"sets": sets, "frozen": frozen})
        print(f"fixture resnet3d_train/{case_id}: {len(grads)} gradients, {len(frozen)} frozen", flush=True)


def build_case(r3d, c):
    """The reference model of a case and its forward to a list of outputs."""
    if c["model"] == "i3d_r50":
        return build_recognizer3d(**c["kwargs"]), lambda m, x: [class_scores(m, x)]
    return r3d.ResNet3d(pretrained=None, **c["kwargs"]), lambda m, x: outputs_as_list(m(x))


def main(out_dir):
    r3d = load_resnet3d_module()
    prints = os.path.join(out_dir, "print")
    os.makedirs(prints, exist_ok=True)
    print_cases = {}
    for i, (case_id, c) in enumerate(PARITY.items()):
        torch.manual_seed(3000 + i)
        model, forward = build_case(r3d, c)
        randomise_batchnorm(model, seed=300 + i)
        randomise_non_local(model, seed=30 + i)
        model.eval()  # mmengine's train() returns None, so no chaining
        x = torch.randn(*c["shape"])
        with torch.no_grad():
            outs = forward(model, x)
        write_parity_case(out_dir, FAMILY, case_id, c, model, [x], outs)
        write_text(os.path.join(prints, case_id + ".txt"), repr(model) + "\n")
        print_cases[case_id] = {"model": c["model"], "sets": c["sets"]}
    for case_id, (sets, kwargs) in PRINT_ONLY.items():
        write_text(os.path.join(prints, case_id + ".txt"), repr(r3d.ResNet3d(pretrained=None, **kwargs)) + "\n")
        print_cases[case_id] = {"model": "resnet3d", "sets": sets}
    write_train_cases(r3d, out_dir)
    write_parity_manifest(out_dir, FAMILY, PARITY, torch=torch.__version__)
    write_json(os.path.join(prints, "resnet3d_cases.json"), print_cases)


if __name__ == "__main__":
    main(sys.argv[1])
