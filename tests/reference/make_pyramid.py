"""Reference fixtures for the pyramid pooling family (seeds/002): each block
with seeded weights and randomised BatchNorm, in eval mode, on a random
input, written by fixture_util.write_parity_case; and print(model) for
`reskit print`. YOLOv5's SPPF and SPP are the pinned PyPI yolov5 package's
own; the others are pyramid_reference.py's, written from upstream.

usage: make_pyramid.py OUT_DIR [RESKIT_BINARY]   (the binary is not used)"""
import functools
import importlib
import importlib.metadata
import os
import sys
import tempfile
import types

import torch
from torch import nn

import pyramid_reference as ref
from fixture_util import randomise_batchnorm, write_json, write_parity_case, write_parity_manifest, write_text


@functools.lru_cache(maxsize=None)
def load_yolov5_common():
    """yolov5's models/common.py. Its utils import one function from
    ultralytics, check_requirements, called only by export backends, streams
    and fonts, none of which the blocks use; importing ultralytics would
    probe the network (its is_online() runs at import) and need packages of
    its own, so a stub stands in for it. YOLOV5_CONFIG_DIR keeps yolov5 from
    making ~/.config/Ultralytics."""
    os.environ.setdefault("YOLOV5_CONFIG_DIR", tempfile.gettempdir())
    for name in ("ultralytics", "ultralytics.utils", "ultralytics.utils.checks"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["ultralytics.utils.checks"].check_requirements = lambda *args, **kwargs: None
    return importlib.import_module("yolov5.models.common")


# Registry name -> the reference's constructor, called with a case's kwargs.
BUILDERS = {
    "spp_net": ref.SPP_NET,
    "sppf": lambda **kw: load_yolov5_common().SPPF(**kw),
    "spp_yolov5": lambda **kw: load_yolov5_common().SPP(**kw),
    "sppcspc": ref.SPPCSPC,
    "simsppf": ref.SimSPPF,
    "sppf_v6": ref.SPPF,
    "simcspsppf": ref.SimCSPSPPF,
    "cspsppf": ref.CSPSPPF,
    "aspp": ref._ASPP,
    "basic_rfb": ref.BasicRFB,
    "basic_rfb_a": ref.BasicRFB_a,
}

FAMILY = "pyramid"


def set_value(v):
    """An option's value as --set spells it: lists comma-separated, bools
    true/false."""
    if isinstance(v, (tuple, list)):
        return ",".join(set_value(x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def case(model, shape, options, implied=None):
    """Registry name; the input's shape; the options, given both as --set
    and to the reference (bn_eps is set on its BatchNorms after
    construction); implied: the reference's kwargs that the registry's
    defaults supply (the upstream constructors have no such defaults)."""
    kwargs = {k: v for k, v in options.items() if k != "bn_eps"}
    return {"model": model, "sets": [f"{k}={set_value(v)}" for k, v in options.items()],
            "kwargs": {**kwargs, **(implied or {})}, "bn_eps": options.get("bn_eps"), "shape": shape}


ASPP_RATES = (6, 12, 18, 24)

PARITY = {
    # The seed's SPP-net: ~48M parameters whatever the input (fc1 alone is
    # 10752 x 4096), so three cases: three sizes, one grey.
    "spp_net_64": case("spp_net", (1, 3, 64, 64), {}),
    "spp_net_two_80x96": case("spp_net", (2, 3, 80, 96), {}),
    "spp_net_grey_100x72": case("spp_net", (1, 1, 100, 72), {"input_nc": 1}),
    # YOLOv5's SPPF(c1, c2, k) and SPP(c1, c2, k) (yolov5's own classes).
    "sppf_c32_c24": case("sppf", (1, 32, 20, 20), {"c1": 32, "c2": 24}),
    "sppf_k3_eps_1e3": case("sppf", (2, 16, 13, 11), {"c1": 16, "c2": 40, "k": 3, "bn_eps": 0.001}),
    "spp_yolov5_c32_c24": case("spp_yolov5", (1, 32, 20, 20), {"c1": 32, "c2": 24}),
    "spp_yolov5_k3_7_eps_1e3": case("spp_yolov5", (1, 24, 15, 17),
                                    {"c1": 24, "c2": 40, "k": (3, 7), "bn_eps": 0.001}),
    # YOLOv7's SPPCSPC(c1, c2, e=e, k=k); its cv5 takes 4 * c_ channels, so k has three sizes.
    "sppcspc_c32_c24": case("sppcspc", (1, 32, 19, 19), {"c1": 32, "c2": 24}),
    "sppcspc_e03_k3_5_7_eps_1e3": case("sppcspc", (2, 16, 12, 14),
                                       {"c1": 16, "c2": 24, "e": 0.3, "k": (3, 5, 7), "bn_eps": 0.001}),
    # YOLOv6's blocks (in_channels, out_channels, kernel_size[, e]).
    "simsppf_c32_c24": case("simsppf", (1, 32, 20, 20), {"in_channels": 32, "out_channels": 24}),
    "simsppf_k3_eps_1e3": case("simsppf", (1, 16, 11, 13),
                               {"in_channels": 16, "out_channels": 32, "kernel_size": 3, "bn_eps": 0.001}),
    "sppf_v6_c32_c24": case("sppf_v6", (2, 32, 16, 18), {"in_channels": 32, "out_channels": 24}),
    "sppf_v6_k7": case("sppf_v6", (1, 24, 9, 10), {"in_channels": 24, "out_channels": 16, "kernel_size": 7}),
    "simcspsppf_c32_c24": case("simcspsppf", (1, 32, 17, 17), {"in_channels": 32, "out_channels": 24}),
    "simcspsppf_e025_k7": case("simcspsppf", (1, 24, 14, 12),
                               {"in_channels": 24, "out_channels": 32, "kernel_size": 7, "e": 0.25}),
    "cspsppf_c32_c24": case("cspsppf", (1, 32, 20, 20), {"in_channels": 32, "out_channels": 24}),
    "cspsppf_e03_k3_eps_1e3": case("cspsppf", (2, 16, 13, 9),
                                   {"in_channels": 16, "out_channels": 24, "kernel_size": 3, "e": 0.3,
                                    "bn_eps": 0.001}),
    # DeepLab v2's _ASPP(in_ch, out_ch, rates); upstream has no default rates.
    "aspp_rates_default": case("aspp", (1, 32, 25, 25), {"in_ch": 32, "out_ch": 21}, {"rates": ASPP_RATES}),
    "aspp_rates_1_3": case("aspp", (2, 16, 12, 15), {"in_ch": 16, "out_ch": 8, "rates": (1, 3)}),
    # RFBNet's BasicRFB(in_planes, out_planes, stride, scale, visual) and BasicRFB_a (no visual).
    "basic_rfb_64_48": case("basic_rfb", (1, 64, 15, 15), {"in_planes": 64, "out_planes": 48}),
    "basic_rfb_stride2_visual2": case("basic_rfb", (2, 32, 19, 16),
                                      {"in_planes": 32, "out_planes": 40, "stride": 2, "visual": 2}),
    "basic_rfb_scale1": case("basic_rfb", (1, 48, 10, 11), {"in_planes": 48, "out_planes": 48, "scale": 1.0}),
    "basic_rfb_a_64_48": case("basic_rfb_a", (1, 64, 13, 13), {"in_planes": 64, "out_planes": 48}),
    "basic_rfb_a_scale1": case("basic_rfb_a", (2, 32, 19, 16), {"in_planes": 32, "out_planes": 32, "scale": 1.0}),
}


def build_case(i, c):
    """A case's reference block: seeded weights, randomised BatchNorm, eval."""
    torch.manual_seed(5000 + i)
    model = BUILDERS[c["model"]](**c["kwargs"])
    if c["bn_eps"] is not None:
        ref.set_bn_eps(model, c["bn_eps"])
    if c["model"] == "spp_net":
        # PyTorch's default init shrinks the signal through the four convs
        # and two Linears: the logits came out within +-0.07, all outputs
        # sigmoid(~0) = 0.5 +- 0.03. He-normal convs and Linears at half
        # gain give logits of std ~1, outputs spread over (0.07, 0.93).
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, a=0.01, nonlinearity="leaky_relu")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.5 / m.in_features ** 0.5)
    if c["model"] == "aspp":
        # _ASPP initialises its biases to 0, which would not show a missing bias.
        with torch.no_grad():
            for conv in model.children():
                conv.bias.normal_(0, 0.01)
    randomise_batchnorm(model, seed=500 + i)
    return model.eval()


def main(out_dir):
    prints = os.path.join(out_dir, "print")
    os.makedirs(prints, exist_ok=True)
    print_cases = {}
    for i, (case_id, c) in enumerate(PARITY.items()):
        model = build_case(i, c)
        x = torch.randn(*c["shape"])
        with torch.no_grad():
            y = model(x)
        write_parity_case(out_dir, FAMILY, case_id, c, model, [x], [y])
        write_text(os.path.join(prints, case_id + ".txt"), repr(model) + "\n")
        print_cases[case_id] = {"model": c["model"], "sets": c["sets"]}
    write_parity_manifest(out_dir, FAMILY, PARITY, torch=torch.__version__, yolov5=importlib.metadata.version("yolov5"))
    write_json(os.path.join(prints, "pyramid_cases.json"), print_cases)


if __name__ == "__main__":
    main(sys.argv[1])
