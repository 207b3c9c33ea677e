"""Reference fixtures for 2D-to-3D weight inflation: mmaction2's own ResNet3d
(the pinned PyPI release) built with pretrained=<a torchvision ResNet file>,
pretrained2d=True, and inflated by its init_weights().

usage: make_inflate.py OUT_DIR RESKIT_BINARY   (the binary is not used)

OUT_DIR/inflate/ holds
  resnet50_2d.pth, resnet50_2d_wrapped.pth   a seeded torchvision resnet50 with
      randomised BatchNorm: its plain state dict, and the same saved as
      {"state_dict": {"module." + name: tensor}};
  manifest.json   {"cases": [...], versions};
  CASE/expected.pth   the 3D state dict after inflation;
  CASE/case.json   {"sets", "kwargs", "pretrained" (the 2D file to give
      reskit and mmaction2), "inflated"
      (3D names filled from the 2D file), "mapping" ({3D name: 2D name}),
      "not_inflated" (3D names left as initialised), "unused_2d" (2D names
      nothing took), "warnings" (what mmaction2 logged or warned)}.
Two cases keep the fixtures small (each 3D file is ~100 MB): i3d_r50's
inflation, where everything fits, and a depth-18 network from resnet50, where
convs and norms of other shapes are skipped. That an inflated network with
1 x k x k kernels is the 2D network frame by frame is checked in C++ alone.
mmaction2's inflation unwraps "state_dict" but not "module."; reskit strips
the prefix as its loader does everywhere, so the wrapped file is given to
reskit only.
The names are taken from mmaction2's own bookkeeping: the per-module copies
(_inflate_conv_params, _inflate_bn_params) are wrapped on the instance, and
each 2D name they append to mmaction2's inflated_param_names is paired with
the 3D module it was copied into. Tensors of expected.pth outside "inflated"
keep mmaction2's random initialisation and are not a reference for reskit."""
import logging
import os
import sys
import warnings

import torch
import torchvision
from mmengine.logging import MMLogger

from fixture_util import randomise_batchnorm, write_json
from make_resnet3d import I3D_INFLATE, load_resnet3d_module


def case(sets, kwargs, pretrained="resnet50_2d.pth"):
    """--set options of the registry model `resnet3d`; ResNet3d's kwargs; the 2D file."""
    return {"sets": sets, "kwargs": kwargs, "pretrained": pretrained}


CASES = {
    "i3d": case(["conv1_kernel=5,7,7", "conv1_stride_t=2", "pool1_stride_t=2",
                 "inflate=1,1,1/1,0,1,0/1,0,1,0,1,0/0,1,0"],
                {"depth": 50, "conv1_kernel": (5, 7, 7), "conv1_stride_t": 2, "pool1_stride_t": 2,
                 "inflate": I3D_INFLATE}),
    # BasicBlocks from Bottlenecks: convs and norms of other shapes are skipped
    "depth18_from_resnet50": case(["depth=18"], {"depth": 18}),
}

def wrapped(state):
    """A training checkpoint's layout: under "state_dict", names as
    DataParallel saves them."""
    return {"state_dict": {"module." + k: v for k, v in state.items()}}


def torchvision_2d(builder, seed, bn_seed):
    """A torchvision ResNet, seeded, with randomised BatchNorm."""
    torch.manual_seed(seed)
    model = builder()
    randomise_batchnorm(model, seed=bn_seed)
    return model


class Records(logging.Handler):
    """The messages mmaction2 logs at WARNING and above."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def quiet_logger():
    """A new MMLogger, which makes it the current instance that init_weights()
    logs to: its console silenced below ERROR, its warnings recorded."""
    logger = MMLogger.get_instance("reskit_inflate", log_level="INFO")
    for h in logger.handlers:
        h.setLevel(logging.ERROR)
    records = Records()
    logger.addHandler(records)
    return records


def inflate(r3d, kwargs, pretrained, seed, records):
    """ResNet3d(pretrained, pretrained2d=True, **kwargs).init_weights(), with
    mmaction2's per-module copies wrapped to learn which 3D tensor each 2D
    name went to. Returns the model, {3D name: 2D name}, the 2D names nothing
    took (as mmaction2 computes them), and mmaction2's warnings."""
    torch.manual_seed(seed)
    model = r3d.ResNet3d(pretrained=pretrained, pretrained2d=True, **kwargs)
    module_names = {id(m): n for n, m in model.named_modules()}
    mapping, seen = {}, []

    def recording(copy):
        def run(module_3d, state_2d, name_2d, inflated_param_names):
            start = len(inflated_param_names)
            copy(module_3d, state_2d, name_2d, inflated_param_names)
            for n in inflated_param_names[start:]:
                mapping[module_names[id(module_3d)] + n[len(name_2d):]] = n
            seen.append(inflated_param_names)
        return run

    model._inflate_conv_params = recording(r3d.ResNet3d._inflate_conv_params)
    model._inflate_bn_params = recording(r3d.ResNet3d._inflate_bn_params)
    del records.messages[:]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.init_weights()
    state_2d = torch.load(pretrained, map_location="cpu")
    state_2d = state_2d.get("state_dict", state_2d)
    unused = sorted(set(state_2d) - set(seen[0] if seen else []))
    messages = records.messages + [str(w.message) for w in caught if "incompatible shapes" in str(w.message)]
    return model, mapping, unused, messages, state_2d


def check_rule(state_3d, mapping, state_2d):
    """The rule the C++ implements: a conv weight is the 2D kernel repeated
    along time and divided by the temporal length; norms' parameters and
    buffers (num_batches_tracked too) are exact copies."""
    for n3, n2 in mapping.items():
        w3, w2 = state_3d[n3], state_2d[n2]
        if w3.dim() == 5:
            assert torch.equal(w3, w2.unsqueeze(2).expand_as(w3) / w3.shape[2]), n3
        else:
            assert w3.dtype == w2.dtype and torch.equal(w3, w2), n3


def main(out_dir):
    r3d = load_resnet3d_module()
    d = os.path.join(out_dir, "inflate")
    os.makedirs(d, exist_ok=True)
    r50 = torchvision_2d(torchvision.models.resnet50, 5000, 500)
    torch.save(r50.state_dict(), os.path.join(d, "resnet50_2d.pth"))
    torch.save(wrapped(r50.state_dict()), os.path.join(d, "resnet50_2d_wrapped.pth"))
    records = quiet_logger()
    for i, (case_id, c) in enumerate(CASES.items()):
        reference = os.path.join(d, c["pretrained"])
        model, mapping, unused, messages, state_2d = inflate(r3d, c["kwargs"], reference, 5100 + i, records)
        state = model.state_dict()
        check_rule(state, mapping, state_2d)
        inflated = [k for k in state if k in mapping]
        not_inflated = [k for k in state if k not in mapping]
        # each 3D conv or norm left out is one that mmaction2 warned about
        skipped = {k.rsplit(".", 1)[0] for k in not_inflated}
        assert len(messages) == len(skipped), (case_id, messages, skipped)
        info = {"sets": c["sets"], "kwargs": c["kwargs"], "pretrained": c["pretrained"],
                "inflated": inflated, "mapping": mapping,
                "not_inflated": not_inflated, "unused_2d": unused, "warnings": messages}
        cd = os.path.join(d, case_id)
        os.makedirs(cd, exist_ok=True)
        torch.save(state, os.path.join(cd, "expected.pth"))
        write_json(os.path.join(cd, "case.json"), info)
        print(f"fixture inflate/{case_id}: {len(inflated)} inflated, {len(not_inflated)} not, "
              f"{len(unused)} unused 2D, {len(messages)} warnings", flush=True)
    write_json(os.path.join(d, "manifest.json"), {"cases": list(CASES), "torch": torch.__version__,
                                                  "torchvision": torchvision.__version__})


if __name__ == "__main__":
    main(sys.argv[1])
