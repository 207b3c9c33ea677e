"""Python references for the pyramid pooling family (seeds/002), written from
the upstream code: class names, attribute names, construction order and
defaults are upstream's, so state_dict keys and print(model) match it.

  * SPP_NET and spatial_pyramid_pool: the seed's SPP-net classifier with its
    bugs fixed (see the class);
  * YOLOv6's ConvModule / ConvBNReLU / ConvBNSiLU, SPPFModule, SimSPPF, SPPF,
    CSPSPPFModule, SimCSPSPPF, CSPSPPF (meituan/YOLOv6, yolov6/layers/common.py);
  * YOLOv7's autopad, Conv and SPPCSPC (WongKinYiu/yolov7, models/common.py);
  * DeepLab v2's _ASPP (kazuto1011/deeplab-pytorch, libs/models/deeplabv2.py);
  * RFBNet's BasicConv, BasicRFB, BasicRFB_a: rfbnet_reference's, written
    from the same RFB_Net_vgg.py, re-exported here.

YOLOv5's SPPF and SPP are not rewritten: the fixtures use the pinned PyPI
yolov5 package itself (make_pyramid.load_yolov5_common).

Every BatchNorm here is PyTorch's default (eps 1e-5, momentum 0.1), as in
the upstream modules; the YOLO repositories' initialize_weights sets eps
1e-3 and momentum 0.03 only once a whole detector is built (set_bn_eps).
"""
import math
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from rfbnet_reference import BasicConv, BasicRFB, BasicRFB_a  # noqa: F401  (re-exported)


def set_bn_eps(model, eps):
    """The eps of every BatchNorm, set after construction as the YOLO
    repositories' initialize_weights does (their momentum change is left out:
    it does not touch inference)."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eps = eps
    return model


# ------------------------------------------------------------------ SPP-net

def spatial_pyramid_pool(previous_conv, out_pool_size):
    """Max-pools N x C x H x W onto each level's l x l grid and concatenates
    the flattened grids: N x C * sum(l * l), level by level, each level's
    cells channel-major (C, l, l) as view() lays them out.

    Each level pools with kernel = stride = ceil(size / l) and padding
    (kernel * l - size + 1) // 2 per dimension (integer: the seed's `/ 2`
    gave floats). That padding gives exactly l cells whenever PyTorch
    accepts it; it does not when it exceeds kernel // 2 (for l = 4 a side of
    1, 2, 3, 5 or 9; for l = 2 a side of 1), which is a ValueError here.
    """
    n, _, h, w = previous_conv.shape
    pooled = []
    for level in out_pool_size:
        h_wid, w_wid = int(math.ceil(h / level)), int(math.ceil(w / level))
        h_pad, w_pad = (h_wid * level - h + 1) // 2, (w_wid * level - w + 1) // 2
        if h_pad > h_wid // 2 or w_pad > w_wid // 2:
            raise ValueError(f"spatial_pyramid_pool: a {h}x{w} map cannot be pooled onto a {level}x{level} grid "
                             f"(padding {h_pad}x{w_pad} exceeds half the {h_wid}x{w_wid} kernel)")
        maxpool = nn.MaxPool2d((h_wid, w_wid), stride=(h_wid, w_wid), padding=(h_pad, w_pad))
        pooled.append(maxpool(previous_conv).view(n, -1))  # per sample, so a batch > 1 works
    return torch.cat(pooled, 1)


class SPP_NET(nn.Module):
    """The seed's classifier: four 4x4 convs (the first stride 2; the map
    shrinks to size // 2 - 3), a 4-2-1 spatial pyramid pool of conv4's 512
    channels (512 * 21 = 10752 features, whatever the input size), two
    Linear layers and a sigmoid.

    Fixed from the seed: conv1's activation is F.leaky_relu (slope 0.01; the
    seed called an undefined self.LReLU1), spatial_pyramid_pool is a free
    function taking the levels, its padding is an integer and it flattens
    per sample. Kept as in the seed: BN3 and conv5 are built but unused
    (their weights are in the state dict), conv4 feeds the pool without an
    activation, fc1 -> fc2 has none either, and the `opt`/`gpu_ids`
    arguments, which did nothing, are gone. fc1's 10752 ties ndf to 64.
    """

    def __init__(self, input_nc=3, ndf=64):
        super().__init__()
        self.output_num = [4, 2, 1]
        self.conv1 = nn.Conv2d(input_nc, ndf, 4, 2, 1, bias=False)
        self.conv2 = nn.Conv2d(ndf, ndf * 2, 4, 1, 1, bias=False)
        self.BN1 = nn.BatchNorm2d(ndf * 2)
        self.conv3 = nn.Conv2d(ndf * 2, ndf * 4, 4, 1, 1, bias=False)
        self.BN2 = nn.BatchNorm2d(ndf * 4)
        self.conv4 = nn.Conv2d(ndf * 4, ndf * 8, 4, 1, 1, bias=False)
        self.BN3 = nn.BatchNorm2d(ndf * 8)
        self.conv5 = nn.Conv2d(ndf * 8, 64, 4, 1, 0, bias=False)
        self.fc1 = nn.Linear(10752, 4096)
        self.fc2 = nn.Linear(4096, 1000)

    def forward(self, x):
        x = F.leaky_relu(self.conv1(x))
        x = F.leaky_relu(self.BN1(self.conv2(x)))
        x = F.leaky_relu(self.BN2(self.conv3(x)))
        x = self.conv4(x)
        spp = spatial_pyramid_pool(x, self.output_num)
        return torch.sigmoid(self.fc2(self.fc1(spp)))


# ------------------------------------------------------------------- YOLOv6

# One shared instance per activation, as upstream: every ConvModule's `act`
# is the same module object (stateless, so only print(model) shows it).
activation_table = {'relu': nn.ReLU(),
                    'silu': nn.SiLU(),
                    'hardswish': nn.Hardswish()}


class ConvModule(nn.Module):
    """Conv (no bias by default; padding kernel_size // 2 unless given), BN,
    then the activation named by activation_type (none when None)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, activation_type, padding=None, groups=1,
                 bias=False):
        super().__init__()
        if padding is None:
            padding = kernel_size // 2
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, stride=stride, padding=padding,
                              groups=groups, bias=bias)
        self.bn = nn.BatchNorm2d(out_channels)
        if activation_type is not None:
            self.act = activation_table.get(activation_type)
        self.activation_type = activation_type

    def forward(self, x):
        if self.activation_type is None:
            return self.bn(self.conv(x))
        return self.act(self.bn(self.conv(x)))


class ConvBNReLU(nn.Module):
    """A ConvModule with ReLU, one level down: keys are `block.conv.*`."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None, groups=1, bias=False):
        super().__init__()
        self.block = ConvModule(in_channels, out_channels, kernel_size, stride, 'relu', padding, groups, bias)

    def forward(self, x):
        return self.block(x)


class ConvBNSiLU(nn.Module):
    """A ConvModule with SiLU, one level down: keys are `block.conv.*`."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None, groups=1, bias=False):
        super().__init__()
        self.block = ConvModule(in_channels, out_channels, kernel_size, stride, 'silu', padding, groups, bias)

    def forward(self, x):
        return self.block(x)


class SPPFModule(nn.Module):
    """YOLOv5's SPPF with YOLOv6's blocks: cv1 to in_channels // 2, one
    max-pool applied three times in a chain, cv2 over the four maps."""

    def __init__(self, in_channels, out_channels, kernel_size=5, block=ConvBNReLU):
        super().__init__()
        c_ = in_channels // 2  # hidden channels
        self.cv1 = block(in_channels, c_, 1, 1)
        self.cv2 = block(c_ * 4, out_channels, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=kernel_size, stride=1, padding=kernel_size // 2)

    def forward(self, x):
        x = self.cv1(x)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            y1 = self.m(x)
            y2 = self.m(y1)
            return self.cv2(torch.cat([x, y1, y2, self.m(y2)], 1))


class SimSPPF(nn.Module):
    """SPPFModule with ReLU, under `sppf`."""

    def __init__(self, in_channels, out_channels, kernel_size=5, block=ConvBNReLU):
        super().__init__()
        self.sppf = SPPFModule(in_channels, out_channels, kernel_size, block)

    def forward(self, x):
        return self.sppf(x)


class SPPF(nn.Module):
    """SPPFModule with SiLU, under `sppf`."""

    def __init__(self, in_channels, out_channels, kernel_size=5, block=ConvBNSiLU):
        super().__init__()
        self.sppf = SPPFModule(in_channels, out_channels, kernel_size, block)

    def forward(self, x):
        return self.sppf(x)


class CSPSPPFModule(nn.Module):
    """Two paths of c_ = int(out_channels * e) channels: cv1 -> cv3 (3x3) ->
    cv4, then the chained pool and cv5 -> cv6 (3x3); and cv2 alone; cv7 over
    the two, the cv2 path first."""

    def __init__(self, in_channels, out_channels, kernel_size=5, e=0.5, block=ConvBNReLU):
        super().__init__()
        c_ = int(out_channels * e)  # hidden channels
        self.cv1 = block(in_channels, c_, 1, 1)
        self.cv2 = block(in_channels, c_, 1, 1)
        self.cv3 = block(c_, c_, 3, 1)
        self.cv4 = block(c_, c_, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=kernel_size, stride=1, padding=kernel_size // 2)
        self.cv5 = block(4 * c_, c_, 1, 1)
        self.cv6 = block(c_, c_, 3, 1)
        self.cv7 = block(2 * c_, out_channels, 1, 1)

    def forward(self, x):
        x1 = self.cv4(self.cv3(self.cv1(x)))
        y0 = self.cv2(x)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            y1 = self.m(x1)
            y2 = self.m(y1)
            y3 = self.cv6(self.cv5(torch.cat([x1, y1, y2, self.m(y2)], 1)))
        return self.cv7(torch.cat((y0, y3), dim=1))


class SimCSPSPPF(nn.Module):
    """CSPSPPFModule with ReLU, under `cspsppf`."""

    def __init__(self, in_channels, out_channels, kernel_size=5, e=0.5, block=ConvBNReLU):
        super().__init__()
        self.cspsppf = CSPSPPFModule(in_channels, out_channels, kernel_size, e, block)

    def forward(self, x):
        return self.cspsppf(x)


class CSPSPPF(nn.Module):
    """CSPSPPFModule with SiLU, under `cspsppf`."""

    def __init__(self, in_channels, out_channels, kernel_size=5, e=0.5, block=ConvBNSiLU):
        super().__init__()
        self.cspsppf = CSPSPPFModule(in_channels, out_channels, kernel_size, e, block)

    def forward(self, x):
        return self.cspsppf(x)


# ------------------------------------------------------------------- YOLOv7

def autopad(k, p=None):
    """'Same' padding for an odd kernel: k // 2 (per dimension for a tuple)."""
    if p is None:
        p = k // 2 if isinstance(k, int) else [x // 2 for x in k]
    return p


class Conv(nn.Module):
    """Conv (no bias), BN, then SiLU (its own instance; act=False gives
    Identity, a module is used as given)."""

    def __init__(self, c1, c2, k=1, s=1, p=None, g=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p), groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = nn.SiLU() if act is True else (act if isinstance(act, nn.Module) else nn.Identity())

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class SPPCSPC(nn.Module):
    """CSP around an SPP of parallel pools: c_ = int(2 * c2 * e); cv1 -> cv3
    (3x3) -> cv4, the pools of each k (stride 1, padding k // 2) beside it,
    cv5 -> cv6 (3x3); cv2 alone; cv7 over the two, the pooled path first
    (YOLOv6's CSPSPPF puts its cv2 path first). n, shortcut and g are
    accepted and unused, as upstream."""

    def __init__(self, c1, c2, n=1, shortcut=False, g=1, e=0.5, k=(5, 9, 13)):
        super().__init__()
        c_ = int(2 * c2 * e)  # hidden channels
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c1, c_, 1, 1)
        self.cv3 = Conv(c_, c_, 3, 1)
        self.cv4 = Conv(c_, c_, 1, 1)
        self.m = nn.ModuleList([nn.MaxPool2d(kernel_size=x, stride=1, padding=x // 2) for x in k])
        self.cv5 = Conv(4 * c_, c_, 1, 1)
        self.cv6 = Conv(c_, c_, 3, 1)
        self.cv7 = Conv(2 * c_, c2, 1, 1)

    def forward(self, x):
        x1 = self.cv4(self.cv3(self.cv1(x)))
        y1 = self.cv6(self.cv5(torch.cat([x1] + [m(x1) for m in self.m], 1)))
        y2 = self.cv2(x)
        return self.cv7(torch.cat((y1, y2), dim=1))


# ---------------------------------------------------------------- DeepLab v2

class _ASPP(nn.Module):
    """The sum of one 3x3 conv (with bias) per rate, padding = dilation =
    rate, children c0, c1, ...; weights normal(0, 0.01), biases 0."""

    def __init__(self, in_ch, out_ch, rates):
        super().__init__()
        for i, rate in enumerate(rates):
            self.add_module("c{}".format(i), nn.Conv2d(in_ch, out_ch, 3, 1, padding=rate, dilation=rate, bias=True))
        for m in self.children():
            nn.init.normal_(m.weight, mean=0, std=0.01)
            nn.init.constant_(m.bias, 0)

    def forward(self, x):
        return sum([stage(x) for stage in self.children()])
