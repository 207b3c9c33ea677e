"""Fixtures for reskit's ConvModule: a module laid out as mmcv's ConvModule
(children conv, bn/gn, activate; bias only without a norm) in plain torch,
with seeded weights and randomised norm statistics."""
import os
import sys

import torch
from torch import nn

from fixture_util import randomise_batchnorm, save_npy, write_json

CONVS = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
BNS = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}

# id -> dims, in, out, kernel, stride, padding, dilation, groups, norm, act, input shape
CASES = {
    "conv2d_bn_relu": (2, 8, 16, [3], [2], [1], [1], 1, "bn", "relu", (2, 8, 17, 15)),
    "conv3d_bn_relu": (3, 3, 8, [3, 7, 7], [1, 2, 2], [1, 3, 3], [1], 1, "bn", "relu", (1, 3, 5, 20, 18)),
    "conv1d_gn_leaky": (1, 6, 12, [5], [1], [2], [2], 2, "gn", "leaky", (3, 6, 21)),
    "conv2d_silu_bias": (2, 4, 6, [1], [1], [0], [1], 1, "none", "silu", (2, 4, 9, 9)),
    "conv2d_bn_sigmoid": (2, 4, 8, [3], [1], [2], [2], 4, "bn", "sigmoid", (1, 4, 11, 13)),
}


class ConvModule(nn.Module):
    def __init__(self, dims, cin, cout, kernel, stride, padding, dilation, groups, norm, act):
        super().__init__()
        self.conv = CONVS[dims](cin, cout, kernel if len(kernel) > 1 else kernel[0], stride=stride[0] if len(stride) == 1 else stride,
                                padding=padding[0] if len(padding) == 1 else padding, dilation=dilation[0],
                                groups=groups, bias=norm == "none")
        if norm == "bn":
            self.bn = BNS[dims](cout)
        elif norm == "gn":
            self.gn = nn.GroupNorm(4, cout)
        self.norm = norm
        self.activate = {"relu": nn.ReLU(inplace=True), "leaky": nn.LeakyReLU(0.1, inplace=True),
                         "silu": nn.SiLU(), "sigmoid": nn.Sigmoid()}[act]

    def forward(self, x):
        x = self.conv(x)
        if self.norm == "bn":
            x = self.bn(x)
        elif self.norm == "gn":
            x = self.gn(x)
        return self.activate(x)


def main(out_dir):
    root = os.path.join(out_dir, "conv_module")
    os.makedirs(root, exist_ok=True)
    for i, (case_id, spec) in enumerate(CASES.items()):
        torch.manual_seed(i)
        m = randomise_batchnorm(ConvModule(*spec[:-1]), seed=i).eval()
        if spec[8] == "gn":
            with torch.no_grad():
                m.gn.weight.uniform_(0.5, 1.5)
                m.gn.bias.normal_(0, 0.1)
        x = torch.randn(*spec[-1])
        with torch.no_grad():
            y = m(x)
        d = os.path.join(root, case_id)
        os.makedirs(d, exist_ok=True)
        torch.save(m.state_dict(), os.path.join(d, "weights.pth"))
        save_npy(os.path.join(d, "input.npy"), x)
        save_npy(os.path.join(d, "out0.npy"), y)
        with open(os.path.join(d, "keys.txt"), "w") as f:
            f.write("\n".join(m.state_dict().keys()) + "\n")
    write_json(os.path.join(root, "manifest.json"), {"cases": list(CASES)})


if __name__ == "__main__":
    main(sys.argv[1])
