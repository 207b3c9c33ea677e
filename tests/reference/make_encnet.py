"""Reference fixtures for encnet (encnet_reference.py, written from seeds/004's
code): parity cases for the generic parity test (input: the image batch;
outputs: seg logits, then SE logits with use_se_loss), and under
OUT_DIR/encnet/ the pieces the C++ unit tests check: the Encoding op forward
and backward (against PyTorch autograd on the reference and on
mmsegmentation's Encoding), and the seed's training step.

Layout:
  parity/encnet/<case>/          weights.pth (+ weights_legacy.pth), input0.npy (N x 3 x H x W),
                                 out0.npy (N x classes x H x W), out1.npy (N x classes; with
                                 use_se_loss), keys.txt, case.json; manifest.json
  print/<case>.txt, print/encnet_cases.json
  encnet/encoding/cases.json     {"cases": [{"name", "shape": [N, C, H, W], "num_codes",
                                 "max_abs": {tensor: max |value|}, "f32_error": {tensor: max |f32 - f64|}}]}
  encnet/encoding/<case>/        inputs x (N x C x H x W), codewords (K x C), scale (K),
                                 grad_out (N x K x C); results out (N x K x C), grad_x,
                                 grad_codewords, grad_scale: <name>.npy computed in float64 from the
                                 float32 inputs, <name>_f32.npy in float32, mmseg_<name>.npy
                                 mmsegmentation's float64 results (all files float32)
  encnet/train_step/<case>/      weights.pth (the state dict before), images.npy (N x 3 x S x S),
                                 labels.npy (N x S x S, float32 integers, 255 ignored),
                                 params_after.pth (the state dict after the steps: parameters
                                 and BN buffers), params_after_f64.pth (the same steps in
                                 float64), settings.json: {"model", "sets" (--set strings),
                                 "lr", "momentum", "weight_decay", "se_weight", "se_loss" (mse | bce),
                                 "steps", "batch", "size", "num_classes", "losses" ([total, ce, se]
                                 per step, before its update), "no_grad_parameters" (left as they
                                 were: backbone.fc), "se_target" (N x classes), "float32_error"
                                 ({parameter: max |float32 - float64| / max |float64|} after the
                                 steps), "float32_error_max", "max_error" (the case's bound on
                                 float32_error)}

The float32 results of every case are checked against the same computation
in float64 (check_conditioning, write_train_step): the fixtures ask of an
implementation only what float32 rounding allows.

usage: make_encnet.py OUT_DIR [RESKIT_BINARY]   (the binary is not used)"""
import copy
import functools
import importlib.util
import os
import sys
import time

import numpy as np
import torch

import encnet_reference as enc
from fixture_util import randomise_batchnorm, save_npy, write_json, write_parity_case, write_parity_manifest, \
    write_text

FAMILY = "encnet"

KWARGS = {"num_classes": int, "num_codes": int, "use_se_loss": lambda v: v == "true",
          "add_lateral": lambda v: v == "true", "backbone": str, "dilated": lambda v: v == "true",
          "head_channels": int, "seg_channels": int}


def kwargs_of(sets):
    """--set strings to ENCNet's keyword arguments (the same names)."""
    out = {}
    for s in sets:
        key, value = s.split("=", 1)
        out[key] = KWARGS[key](value)
    return out


def case(sets=(), shape=(1, 3, 64, 64), legacy=False):
    """--set options; the input's shape (sides multiples of 8); whether a
    legacy-format copy of the weights is saved."""
    return {"model": "encnet_r50", "sets": list(sets), "shape": list(shape), "legacy": legacy}


PARITY = {
    "encnet_r50": case(),
    # Non-square inputs, so that a swapped H and W cannot pass.
    "encnet_r18_lateral": case(["backbone=resnet18", "add_lateral=true"], shape=(1, 3, 40, 48)),
    # The head's options on the small backbone: the fixtures stay small.
    "encnet_r18_no_se": case(["backbone=resnet18", "use_se_loss=false"], shape=(1, 3, 48, 32)),
    "encnet_r50_dilated": case(["dilated=true"], shape=(1, 3, 32, 40)),
    "encnet_r18_codes8": case(["backbone=resnet18", "num_codes=8", "head_channels=64", "seg_channels=32"], shape=(1, 3, 48, 48)),
    "encnet_r18_batch2": case(["backbone=resnet18"], shape=(2, 3, 48, 48)),
    "encnet_r34_classes5": case(["backbone=resnet34", "num_classes=5"], shape=(1, 3, 40, 56)),
}


def stats(name, t):
    t = t.detach().double()
    print(f"  {name}: {tuple(t.shape)} min {t.min():.4g} max {t.max():.4g} mean {t.mean():.4g} std {t.std():.4g}",
          flush=True)
    assert torch.isfinite(t).all() and t.abs().max() > 0, name


# The mean ||x_i||^2 the Encoding sees after calibration, per code: K
# scales in (-1, 0) lie ~1/K apart, so the top logits differ by ~0.75.
DISTANCE_PER_CODE = 0.75


def calibrate(model, x):
    """One pass over x that (a) rescales each BatchNorm2d's randomised
    running statistics by its input's root mean square s (one number per
    layer): running_mean * s, running_var * s^2; and (b) scales
    encoding_project's weight and bias so that its features' mean squared
    norm is DISTANCE_PER_CODE x K. With the raw statistics a ResNet-50's
    activations grow to ~1e3 (ResNet-101's ~1e7), the gate's sigmoid
    saturates and the Encoding's softmax over s_k ||x_i - c_k||^2 turns
    one-hot (as it does at unit scale with 512 channels): a wrong assignment
    or gate could pass. Per-channel statistics (centring every channel, as
    training-mode BN does) would keep the scale too, but make the deep
    backbone chaotic: float32 rounding then grows ~2x every few blocks, to
    4e-3 of the output's range through ResNet-101, past the parity test's
    1e-4; one scale per layer keeps it ~1e-6 (check_conditioning).
    BatchNorm1d (over the codes) keeps its randomised statistics."""

    def bn_hook(m, inputs):
        s = inputs[0].detach().pow(2).mean().sqrt().clamp_min(1e-3)
        m.running_mean.mul_(s)
        m.running_var.mul_(s * s)

    def project_hook(m, inputs, out):
        f = (DISTANCE_PER_CODE * model.decoder.num_codes / out.pow(2).sum(dim=1).mean()).sqrt()
        m.weight.mul_(f)
        m.bias.mul_(f)
        return out * f  # what the scaled conv gives: it is linear in weight and bias

    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    # Each hook once: it removes itself, so a module called twice is rescaled once.
    handles = {}
    for m in bns:
        def once(module, inputs, m=m):
            bn_hook(module, inputs)
            handles.pop(m).remove()
        handles[m] = m.register_forward_pre_hook(once)
    project = model.decoder.enc_module.encoding_project.register_forward_hook(project_hook)
    with torch.no_grad():
        model(x)
    project.remove()
    assert not handles, f"{len(handles)} BatchNorms not reached"


def check_conditioning(case_id, model, x, outs):
    """The float32 outputs against the same model in float64: their gap
    (relative to the output's range) is what any float32 implementation can
    be asked for; the parity test asks for 1e-4."""
    twin = copy.deepcopy(model).double()
    with torch.no_grad():
        out = twin(x.double())
    ref = list(out) if isinstance(out, tuple) else [out]
    gaps = [float((a.double() - b).abs().max() / b.abs().max()) for a, b in zip(outs, ref)]
    print(f"  float32 vs float64: {['%.1e' % g for g in gaps]} of the outputs' range", flush=True)
    assert max(gaps) < 1e-5, (case_id, "ill-conditioned fixture", gaps)


class AssignmentProbe:
    """Records the Encoding's soft assignment during a forward: its mean
    largest weight over positions is 1 when one-hot (a weak test of the
    softmax) and 1/K when uniform."""

    def __init__(self, model):
        self.encoding = model.decoder.enc_module.encoding[0]
        self.handle = self.encoding.register_forward_pre_hook(self)
        self.spread = None

    def __call__(self, module, inputs):
        v = inputs[0].detach()
        v = v.view(v.size(0), v.size(1), -1).transpose(1, 2)
        weights = torch.softmax(module.scaled_l2(v, module.codewords, module.scale), dim=2)
        self.spread = float(weights.max(dim=2).values.mean())

    def remove(self):
        self.handle.remove()


def seeded_model(seed, sets, x):
    """ENCNet with the seed's initialisation under torch.manual_seed(seed),
    randomised BatchNorm (BatchNorm1d too), calibrated (see calibrate) on
    the case's input x itself, so that it is x whose activations keep unit
    scale."""
    torch.manual_seed(seed)
    model = enc.ENCNet(**kwargs_of(sets))
    randomise_batchnorm(model, seed=seed + 1)
    model.eval()
    calibrate(model, x)
    return model


def write_parity(out_dir):
    prints = os.path.join(out_dir, "print")
    os.makedirs(prints, exist_ok=True)
    print_cases = {}
    for i, (case_id, c) in enumerate(PARITY.items()):
        x = torch.randn(*c["shape"], generator=torch.Generator().manual_seed(6005 + 10 * i))
        model = seeded_model(6000 + 10 * i, c["sets"], x)
        probe = AssignmentProbe(model)
        with torch.no_grad():
            out = model(x)
        probe.remove()
        outs = list(out) if isinstance(out, tuple) else [out]
        check_conditioning(case_id, model, x, outs)
        print(f"  mean largest assignment weight {probe.spread:.3f} of {model.decoder.num_codes} codes", flush=True)
        assert probe.spread < 0.95, (case_id, "a near one-hot assignment")
        for k, o in enumerate(outs):
            stats(f"out{k}", o)
        write_parity_case(out_dir, FAMILY, case_id, c, model, [x], outs)
        write_text(os.path.join(prints, case_id + ".txt"), repr(model) + "\n")
        print_cases[case_id] = {"model": c["model"], "sets": c["sets"]}
    write_parity_manifest(out_dir, FAMILY, PARITY, torch=torch.__version__)
    write_json(os.path.join(prints, "encnet_cases.json"), print_cases)


# ---------------------------------------------------------------- Encoding

@functools.lru_cache(maxsize=None)
def mmseg_encoding():
    """mmsegmentation's Encoding from its own file: importing
    mmseg.models.utils would import mmcv.ops, which mmcv-lite lacks."""
    spec = importlib.util.find_spec("mmseg")
    assert spec is not None, "mmsegmentation is not installed (scripts/requirements-test.txt)"
    path = os.path.join(spec.submodule_search_locations[0], "models", "utils", "encoding.py")
    module_spec = importlib.util.spec_from_file_location("mmseg_encoding", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.Encoding


# name, (N, C, H, W), K, x's std, codewords' std (None: the layer's own init)
ENCODING_CASES = [
    ("c512_k32_28x28", (1, 512, 28, 28), 32, 0.3, None),  # the model's size at 224 x 224, as initialised
    ("c16_k8_5x5", (2, 16, 5, 5), 8, 1.0, 0.5),
    ("c5_k3_3x7", (3, 5, 3, 7), 3, 1.0, 0.8),
    # distances ~1e3: exp() underflows unless the softmax subtracts its maximum
    ("c64_k16_7x9_peaky", (1, 64, 7, 9), 16, 4.0, 1.0),
    # one code: every weight is 1 and the scale's gradient exactly 0
    ("c8_k1_4x4", (2, 8, 4, 4), 1, 1.0, 0.5),
    ("c3_k5_1x1", (1, 3, 1, 1), 5, 1.0, 1.0),
]

ENCODING_TENSORS = ("out", "grad_x", "grad_codewords", "grad_scale")


def encoding_results(module_class, x, codewords, scale, grad_out, dtype):
    """The layer's output and autograd's gradients of x, codewords and scale
    for the upstream gradient grad_out, computed in dtype."""
    layer = module_class(x.size(1), codewords.size(0)).to(dtype)
    with torch.no_grad():
        layer.codewords.copy_(codewords)
        layer.scale.copy_(scale)
    xd = x.to(dtype).requires_grad_(True)
    out = layer(xd)
    gx, gc, gs = torch.autograd.grad(out, [xd, layer.codewords, layer.scale], grad_out.to(dtype))
    return {"out": out.detach(), "grad_x": gx, "grad_codewords": gc, "grad_scale": gs}


def max_abs_diff(a, b):
    return float((a.double() - b.double()).abs().max())


def write_encoding(d):
    cases = []
    for i, (name, shape, k, x_std, code_std) in enumerate(ENCODING_CASES):
        c_dir = os.path.join(d, name)
        os.makedirs(c_dir, exist_ok=True)
        g = torch.Generator().manual_seed(7000 + i)
        n, c, h, w = shape
        x = torch.randn(*shape, generator=g) * x_std
        if code_std is None:
            bound = 1.0 / (k * c) ** 0.5
            codewords = torch.empty(k, c).uniform_(-bound, bound, generator=g)
        else:
            codewords = torch.randn(k, c, generator=g) * code_std
        scale = torch.empty(k).uniform_(-1, 0, generator=g)
        grad_out = torch.randn(n, k, c, generator=g)
        ref64 = encoding_results(enc.Encoding, x, codewords, scale, grad_out, torch.float64)
        ref32 = encoding_results(enc.Encoding, x, codewords, scale, grad_out, torch.float32)
        mm64 = encoding_results(mmseg_encoding(), x, codewords, scale, grad_out, torch.float64)
        mm32 = encoding_results(mmseg_encoding(), x, codewords, scale, grad_out, torch.float32)
        for key in ENCODING_TENSORS:
            # Both are the same algorithm: equal to rounding in float64; float32 within its own error.
            scale_of = float(ref64[key].abs().max()) or 1.0
            assert max_abs_diff(ref64[key], mm64[key]) <= 1e-12 * scale_of, (name, key, "mmseg float64")
            assert max_abs_diff(ref32[key], mm32[key]) <= 1e-4 * scale_of, (name, key, "mmseg float32")
            assert max_abs_diff(ref32[key], ref64[key]) <= 1e-3 * scale_of, (name, key, "float32 error")
        for key, t in (("x", x), ("codewords", codewords), ("scale", scale), ("grad_out", grad_out)):
            save_npy(os.path.join(c_dir, key + ".npy"), t)
        for key in ENCODING_TENSORS:
            # The float64 results stay float64 (save_npy would round them to float32).
            np.save(os.path.join(c_dir, key + ".npy"), ref64[key].detach().numpy())
            save_npy(os.path.join(c_dir, key + "_f32.npy"), ref32[key])
            np.save(os.path.join(c_dir, "mmseg_" + key + ".npy"), mm64[key].detach().numpy())
        stats(f"{name} out", ref64["out"])
        stats(f"{name} grad_x", ref64["grad_x"])
        stats(f"{name} grad_codewords", ref64["grad_codewords"])
        if k > 1:
            stats(f"{name} grad_scale", ref64["grad_scale"])
        else:
            assert float(ref64["grad_scale"].abs().max()) == 0.0, name
        cases.append({"name": name, "shape": list(shape), "num_codes": k,
                      "max_abs": {key: float(ref64[key].abs().max()) for key in ENCODING_TENSORS},
                      "f32_error": {key: max_abs_diff(ref32[key], ref64[key]) for key in ENCODING_TENSORS}})
    write_json(os.path.join(d, "cases.json"), {"cases": cases})
    print(f"fixture encnet/encoding: {len(cases)} cases, checked against mmsegmentation's Encoding", flush=True)


# ---------------------------------------------------------------- train step

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def train_case(sets, num_classes, seed, max_error, steps=1, lr=0.1, momentum=0.0, weight_decay=0.0, se_loss="mse",
               size=32, batch=2):
    """seed: torch.manual_seed before the model is built (the batch's and
    BN's seeds follow it); max_error: the most that float32 rounding alone
    may move a parameter (max |float32 - float64| over its range) in this
    case's steps, checked against a float64 twin."""
    return {"sets": list(sets), "num_classes": num_classes, "seed": seed, "max_error": max_error, "steps": steps,
            "lr": lr, "momentum": momentum, "weight_decay": weight_decay, "se_weight": 0.2, "se_loss": se_loss,
            "size": size, "batch": batch}


# A training step of a random ReLU network is chaotic in float32: a
# pre-activation within rounding of 0 takes the other side of the ReLU, and
# train-mode BatchNorm's backward spreads that (the same holds between any
# two float32 implementations). The seeds are ones whose steps stay within
# max_error of float64 (many seeds move cls_seg.0's weight by 1e-4..1e-3);
# ResNet-50's 16 train-mode BN blocks on 4 x 4 maps move the backbone by
# ~3e-2 of its range whatever the seed, so its parameters can only be
# compared to about that (settings.json's float32_error says per tensor).
TRAIN = {
    "seed": train_case(["backbone=resnet18", "num_classes=5"], 5, seed=8100, max_error=1e-5),
    # Three steps on the same batch: the momentum buffers act from step 2 on.
    # lr 0.01: at 0.1 with momentum 0.9 the loss climbs (1.8, 2.8, 7.3).
    "momentum_bce": train_case(["backbone=resnet18", "num_classes=5"], 5, seed=8130, max_error=1e-4, steps=3,
                               lr=0.01, momentum=0.9, weight_decay=1e-4, se_loss="bce"),
    "r50": train_case([], 33, seed=8020, max_error=1e-1),
}


def make_batch(g, n, size, num_classes):
    """Images as normalised RGB looks (smooth colour plus pixel noise in [0, 1],
    then ImageNet's mean and std) and labels of 8 x 8 blocks, each image
    drawing on a few classes of its own (so that the SE targets have zeros
    and ones and differ between images), with a band of 255 (ignored) in
    each."""
    coarse = torch.nn.functional.interpolate(torch.rand(n, 3, 5, 5, generator=g), size=(size, size),
                                             mode="bilinear", align_corners=False)
    rgb = 0.8 * coarse + 0.2 * torch.rand(n, 3, size, size, generator=g)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    images = (rgb - mean) / std
    blocks = size // 8
    labels = torch.empty(n, size, size)
    targets = []
    for i in range(n):
        while True:  # a class set of its own, so that SE targets mixed up between images cannot pass
            classes = torch.randperm(num_classes, generator=g)[:min(num_classes - 1, 3 + i % 2)]
            pick = torch.randint(0, len(classes), (blocks, blocks), generator=g)
            labels[i] = classes[pick].float().repeat_interleave(8, 0).repeat_interleave(8, 1)
            row = int(torch.randint(0, size - 3, (1,), generator=g))
            labels[i, row:row + 3, :] = enc.IGNORE_INDEX
            target = enc.se_target(labels[i:i + 1], num_classes)
            if 0 < target.sum() < num_classes and not any(torch.equal(target, t) for t in targets):
                targets.append(target)
                break
    return images, labels


def scale_encoding_project(model, images):
    """encoding_project's weight and bias scaled, as calibrate does, so that
    the Encoding sees squared norms of DISTANCE_PER_CODE x K on this batch
    (measured on a copy in train mode, so that no statistics move). At the
    init's scale the assignment is one-hot: the step would hardly test the
    Encoding's backward, and BatchNorm1d's batch statistics would see
    aggregates of ~1e-16 for all codes but one."""
    twin = copy.deepcopy(model).train()
    seen = {}
    handle = twin.decoder.enc_module.encoding_project.register_forward_hook(lambda m, i, o: seen.update(out=o))
    with torch.no_grad():
        twin(images)
    handle.remove()
    f = (DISTANCE_PER_CODE * model.decoder.num_codes / seen["out"].pow(2).sum(dim=1).mean()).sqrt()
    with torch.no_grad():
        model.decoder.enc_module.encoding_project.weight.mul_(f)
        model.decoder.enc_module.encoding_project.bias.mul_(f)


def run_steps(model, c, images, labels):
    """The recipe's SGD steps on one batch: the losses and the model after."""
    optimizer = torch.optim.SGD(model.parameters(), lr=c["lr"], momentum=c["momentum"], weight_decay=c["weight_decay"])
    losses = [enc.train_step(model, optimizer, images, labels, c["se_weight"], c["se_loss"]) for _ in range(c["steps"])]
    return losses, model


def write_train_step(d):
    for case_id, c in TRAIN.items():
        c_dir = os.path.join(d, case_id)
        os.makedirs(c_dir, exist_ok=True)
        torch.manual_seed(c["seed"])
        model = enc.ENCNet(**kwargs_of(c["sets"]))
        assert model.num_classes == c["num_classes"], case_id
        randomise_batchnorm(model, seed=c["seed"] + 1)
        images, labels = make_batch(torch.Generator().manual_seed(c["seed"] + 2), c["batch"], c["size"],
                                    c["num_classes"])
        scale_encoding_project(model, images)
        torch.save(model.state_dict(), os.path.join(c_dir, "weights.pth"))
        save_npy(os.path.join(c_dir, "images.npy"), images)
        save_npy(os.path.join(c_dir, "labels.npy"), labels)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        twin = copy.deepcopy(model).double()
        losses, model = run_steps(model, c, images, labels)
        torch.save(model.state_dict(), os.path.join(c_dir, "params_after.pth"))
        assert all(np.isfinite(v) for step in losses for v in step), (case_id, losses)
        no_grad = [name for name, p in model.named_parameters() if p.grad is None]
        moved = [name for name, p in model.named_parameters() if not torch.equal(p, before[name])]
        assert len(moved) == len(list(model.parameters())) - len(no_grad), (case_id, "parameters that did not move")
        # The same steps in float64: how far float32 rounding alone takes the parameters.
        _, twin = run_steps(twin, c, images.double(), labels)
        torch.save(twin.state_dict(), os.path.join(c_dir, "params_after_f64.pth"))
        exact = dict(twin.named_parameters())
        errors = {k: float((p.double() - exact[k]).abs().max() / exact[k].abs().max().clamp_min(1e-12))
                  for k, p in model.named_parameters()}
        gap = max(errors.values())
        assert gap < c["max_error"], (case_id, "ill-conditioned step", gap, max(errors, key=errors.get))
        write_json(os.path.join(c_dir, "settings.json"), {
            "model": "encnet_r50", "sets": c["sets"], "lr": c["lr"], "momentum": c["momentum"],
            "weight_decay": c["weight_decay"], "se_weight": c["se_weight"], "se_loss": c["se_loss"],
            "steps": c["steps"], "batch": c["batch"], "size": c["size"], "num_classes": c["num_classes"],
            "losses": losses, "no_grad_parameters": no_grad,
            "se_target": enc.se_target(labels.long(), c["num_classes"]).tolist(),
            "float32_error_max": gap, "float32_error": errors, "max_error": c["max_error"]})
        rounded = [[round(v, 4) for v in step] for step in losses]
        print(f"fixture encnet/train_step/{case_id}: losses (total, ce, se) {rounded}, {len(moved)} parameters "
              f"moved, no gradient: {no_grad}; float32 vs float64: up to {gap:.1e} of a parameter's range", flush=True)


def main(out_dir):
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    start = time.perf_counter()
    d = os.path.join(out_dir, "encnet")
    for name, write in (("parity", lambda: write_parity(out_dir)),
                        ("encoding", lambda: write_encoding(os.path.join(d, "encoding"))),
                        ("train_step", lambda: write_train_step(os.path.join(d, "train_step")))):
        write()
        print(f"make_encnet: {name} done at {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
