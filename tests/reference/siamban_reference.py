"""A Python reference for the SiamBAN tracker (Chen et al., CVPR 2020),
written from the official code (github.com/hqucv/siamban): the inference
path of siamban/models/model_builder.py (ModelBuilder.template / track),
backbone/resnet_atrous.py, neck/neck.py, head/ban.py, core/xcorr.py, and the
tracker of tracker/siamban_tracker.py and tracker/base_tracker.py
(get_subwindow), with the TRACK settings of core/config.py and the
experiments' config.yaml files.

Module classes, attribute names and construction order are the official
ones, so state_dict keys (backbone.*, neck.downsampleN.*, head.boxN.*,
head.cls_weight, head.loc_weight, head.loc_scale) and print(model) are the
official ModelBuilder's for experiments/siamban_r50_l234 (and _otb, the same
network). The root class is named ModelBuilder, as upstream, so that
print(model) starts as the official one does; SiamBAN is the same class.
Training-only code (losses, ModelBuilder.forward(data)) is left out; here
forward(z, x) is template(z) then track(x), returning (cls, loc).

The tracker is the official one over numpy on the CPU (cfg.CUDA False);
its settings are a plain dict (CONFIGS) in place of the yacs cfg.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------- settings

# core/config.py's defaults for cfg.TRACK / cfg.POINT (what a config.yaml overrides).
DEFAULT_TRACK = {"TYPE": "SiamBANTracker", "PENALTY_K": 0.14, "WINDOW_INFLUENCE": 0.45, "LR": 0.30,
                 "EXEMPLAR_SIZE": 127, "INSTANCE_SIZE": 255, "BASE_SIZE": 8, "CONTEXT_AMOUNT": 0.5}


def _config(**track):
    return {"TRACK": {**DEFAULT_TRACK, **track}, "POINT": {"STRIDE": 8},
            "BAN": {"KWARGS": {"in_channels": [256, 256, 256], "cls_out_channels": 2, "weighted": True}},
            "ADJUST": {"KWARGS": {"in_channels": [512, 1024, 2048], "out_channels": [256, 256, 256]}},
            "BACKBONE": {"TYPE": "resnet50", "KWARGS": {"used_layers": [2, 3, 4]}}}


# experiments/<name>/config.yaml (the hyper-parameters as the files spell them).
CONFIGS = {
    # VOT2018's hyper-parameters (the file's VOT2019 ones are commented out).
    "siamban_r50_l234": _config(WINDOW_INFLUENCE=0.4632532824922313, PENALTY_K=0.08513642556896711,
                                LR=0.44418184746462425),
    "siamban_r50_l234_otb": _config(WINDOW_INFLUENCE=0.3850733326567302, PENALTY_K=0.020530504470126613,
                                    LR=0.4730770315643308),
}


# ---------------------------------------------------------------- backbone: resnet_atrous.py

def conv3x3(in_planes, out_planes, stride=1, dilation=1):
    """3x3 convolution, padding = dilation, no bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, bias=False,
                     dilation=dilation)


class BasicBlock(nn.Module):
    """resnet18/34's block (not used by siamban_r50_l234; kept for the same
    construction rules): conv1 has dilation // 2 in a layer's first block."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, dilation=1):
        super().__init__()
        padding = dilation if dilation > 1 else 2 - stride
        dd, pad = dilation, padding
        if downsample is not None and dilation > 1:
            dd = dilation // 2
            pad = dd
        self.conv1 = nn.Conv2d(inplanes, planes, stride=stride, dilation=dd, bias=False, kernel_size=3,
                               padding=pad)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes, dilation=dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class Bottleneck(nn.Module):
    """1x1, 3x3, 1x1 (x4). The 3x3's padding is 2 - stride (0 for the
    stride-2 block of layer2: no padding), or its dilation; a layer's first
    block (the one with a downsample) halves the dilation."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, dilation=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        padding = 2 - stride
        if downsample is not None and dilation > 1:
            dilation = dilation // 2
            padding = dilation
        assert stride == 1 or dilation == 1, "stride and dilation must have one equals to zero at least"
        if dilation > 1:
            padding = dilation
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=padding, bias=False,
                               dilation=dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        out += residual
        return self.relu(out)


class ResNet(nn.Module):
    """The atrous ResNet: conv1 7x7 stride 2 with NO padding, maxpool 3/2/1,
    layer2 stride 2, layer3 dilation 2 and layer4 dilation 4 (stride 1),
    so layers 2-4 share the stride 8. forward returns the feature maps of
    used_layers out of [relu(bn1(conv1)), layer1, layer2, layer3, layer4]."""

    def __init__(self, block, layers, used_layers):
        self.inplanes = 64
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.feature_size = 128 * block.expansion
        self.used_layers = used_layers
        layer3 = 3 in used_layers or 4 in used_layers
        layer4 = 4 in used_layers
        if layer3:
            self.layer3 = self._make_layer(block, 256, layers[2], stride=1, dilation=2)
            self.feature_size = (256 + 128) * block.expansion
        else:
            self.layer3 = lambda x: x
        if layer4:
            self.layer4 = self._make_layer(block, 512, layers[3], stride=1, dilation=4)
            self.feature_size = 512 * block.expansion
        else:
            self.layer4 = lambda x: x
        # upstream's init: normal(0, sqrt(2 / (k * k * out_channels))), BN 1 / 0
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, math.sqrt(2. / n))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()

    def _make_layer(self, block, planes, blocks, stride=1, dilation=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            if stride == 1 and dilation == 1:
                # layer1: a 1x1 projection
                downsample = nn.Sequential(
                    nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride, bias=False),
                    nn.BatchNorm2d(planes * block.expansion))
            else:
                # layers 2-4: a 3x3 projection (layer2: stride 2, padding 0;
                # layer3: dilation 1, padding 1; layer4: dilation 2, padding 2)
                if dilation > 1:
                    dd = dilation // 2
                    padding = dd
                else:
                    dd = 1
                    padding = 0
                downsample = nn.Sequential(
                    nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=3, stride=stride, bias=False,
                              padding=padding, dilation=dd),
                    nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, dilation=dilation)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, dilation=dilation))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x_ = self.relu(x)
        x = self.maxpool(x_)
        p1 = self.layer1(x)
        p2 = self.layer2(p1)
        p3 = self.layer3(p2)
        p4 = self.layer4(p3)
        out = [x_, p1, p2, p3, p4]
        out = [out[i] for i in self.used_layers]
        return out[0] if len(out) == 1 else out


def resnet18(**kwargs):
    return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)


def resnet34(**kwargs):
    return ResNet(BasicBlock, [3, 4, 6, 3], **kwargs)


def resnet50(**kwargs):
    return ResNet(Bottleneck, [3, 4, 6, 3], **kwargs)


BACKBONES = {"resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50}


# ---------------------------------------------------------------- neck: neck.py

class AdjustLayer(nn.Module):
    """1x1 conv (no bias) + BN; a map narrower than 20 (the template's 15x15)
    is then cropped to its centre 7x7, rows and columns 4..10.

    Upstream (siamban neck.py) tests `x.size(3) < 20` and crops l = 4,
    r = l + 7 (fixed, not (size - 7) // 2 as pysot's center_size does; for
    15 the two agree). The seed document (seeds/003) shows `< 16`; for the
    siamban_r50_l234 sizes (15 template, 31 search) both thresholds agree,
    and this follows upstream's 20."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels))

    def forward(self, x):
        x = self.downsample(x)
        if x.size(3) < 20:
            l = 4
            r = l + 7
            x = x[:, :, l:r, l:r]
        return x


class AdjustAllLayer(nn.Module):
    """One AdjustLayer per level: `downsample` for a single level, else
    downsample2, downsample3, ... (numbered from 2)."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.num = len(out_channels)
        if self.num == 1:
            self.downsample = AdjustLayer(in_channels[0], out_channels[0])
        else:
            for i in range(self.num):
                self.add_module("downsample" + str(i + 2), AdjustLayer(in_channels[i], out_channels[i]))

    def forward(self, features):
        if self.num == 1:
            return self.downsample(features)
        return [getattr(self, "downsample" + str(i + 2))(features[i]) for i in range(self.num)]


NECKS = {"AdjustLayer": AdjustLayer, "AdjustAllLayer": AdjustAllLayer}


# ---------------------------------------------------------------- head: xcorr.py, ban.py

def xcorr_depthwise(x, kernel):
    """Each (batch, channel) plane of x correlated with the same plane of
    kernel: one grouped conv over batch * channel groups."""
    batch = kernel.size(0)
    channel = kernel.size(1)
    x = x.view(1, batch * channel, x.size(2), x.size(3))
    kernel = kernel.view(batch * channel, 1, kernel.size(2), kernel.size(3))
    out = F.conv2d(x, kernel, groups=batch * channel)
    return out.view(batch, channel, out.size(2), out.size(3))


class DepthwiseXCorr(nn.Module):
    """conv_kernel (template) and conv_search (search): 3x3 conv without
    padding or bias, BN, ReLU; their depthwise correlation; then head: 1x1
    conv (no bias), BN, ReLU, 1x1 conv with bias to out_channels."""

    def __init__(self, in_channels, hidden, out_channels, kernel_size=3):
        super().__init__()
        self.conv_kernel = nn.Sequential(
            nn.Conv2d(in_channels, hidden, kernel_size=kernel_size, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True))
        self.conv_search = nn.Sequential(
            nn.Conv2d(in_channels, hidden, kernel_size=kernel_size, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True))
        self.head = nn.Sequential(
            nn.Conv2d(hidden, hidden, kernel_size=1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, out_channels, kernel_size=1))

    def forward(self, kernel, search):
        kernel = self.conv_kernel(kernel)
        search = self.conv_search(search)
        return self.head(xcorr_depthwise(search, kernel))


class BAN(nn.Module):
    def forward(self, z_f, x_f):
        raise NotImplementedError


class DepthwiseBAN(BAN):
    """cls: DepthwiseXCorr to cls_out_channels; loc: to 4 (raw, before exp)."""

    def __init__(self, in_channels=256, out_channels=256, cls_out_channels=2, weighted=False):
        super().__init__()
        self.cls = DepthwiseXCorr(in_channels, out_channels, cls_out_channels)
        self.loc = DepthwiseXCorr(in_channels, out_channels, 4)

    def forward(self, z_f, x_f):
        return self.cls(z_f, x_f), self.loc(z_f, x_f)


class MultiBAN(BAN):
    """box2, box3, ...: a DepthwiseBAN per level. Level i's loc is
    exp(loc_i * loc_scale[i]); with weighted, cls = sum_i cls_i *
    softmax(cls_weight)[i] and loc = sum_i loc_i * softmax(loc_weight)[i];
    otherwise the plain means."""

    def __init__(self, in_channels, cls_out_channels, weighted=False):
        super().__init__()
        self.weighted = weighted
        for i in range(len(in_channels)):
            self.add_module("box" + str(i + 2), DepthwiseBAN(in_channels[i], in_channels[i], cls_out_channels))
        if self.weighted:
            self.cls_weight = nn.Parameter(torch.ones(len(in_channels)))
            self.loc_weight = nn.Parameter(torch.ones(len(in_channels)))
        self.loc_scale = nn.Parameter(torch.ones(len(in_channels)))

    def forward(self, z_fs, x_fs):
        cls, loc = [], []
        for idx, (z_f, x_f) in enumerate(zip(z_fs, x_fs), start=2):
            c, l = getattr(self, "box" + str(idx))(z_f, x_f)
            cls.append(c)
            loc.append(torch.exp(l * self.loc_scale[idx - 2]))
        if not self.weighted:
            return sum(cls) / len(cls), sum(loc) / len(loc)
        cls_weight = F.softmax(self.cls_weight, 0)
        loc_weight = F.softmax(self.loc_weight, 0)

        def weighted_avg(lst, weight):  # in level order, starting from 0 as upstream
            s = 0
            for i in range(len(weight)):
                s += lst[i] * weight[i]
            return s

        return weighted_avg(cls, cls_weight), weighted_avg(loc, loc_weight)


BANS = {"DepthwiseBAN": DepthwiseBAN, "MultiBAN": MultiBAN}


# ---------------------------------------------------------------- model_builder.py

class ModelBuilder(nn.Module):
    """backbone, neck (ADJUST), head (BAN), built from a config of CONFIGS'
    form (default: siamban_r50_l234). template(z) keeps the template's
    features in self.zf; track(x) returns {'cls': N x 2 x 25 x 25, 'loc':
    N x 4 x 25 x 25} for z 127 and x 255."""

    def __init__(self, config=None):
        super().__init__()
        config = config or CONFIGS["siamban_r50_l234"]
        self.backbone = BACKBONES[config["BACKBONE"]["TYPE"]](**config["BACKBONE"]["KWARGS"])
        self.neck = AdjustAllLayer(**config["ADJUST"]["KWARGS"])
        self.head = MultiBAN(**config["BAN"]["KWARGS"])

    def template(self, z):
        self.zf = self.neck(self.backbone(z))

    def track(self, x):
        xf = self.neck(self.backbone(x))
        cls, loc = self.head(self.zf, xf)
        return {"cls": cls, "loc": loc}

    def forward(self, z, x):
        """Inference only (upstream's forward(data) is the training loss):
        template(z), then track(x)'s (cls, loc)."""
        self.template(z)
        out = self.track(x)
        return out["cls"], out["loc"]


SiamBAN = ModelBuilder


# ---------------------------------------------------------------- the tracker

def corner2center(corner):
    """(x1, y1, x2, y2) rows to (cx, cy, w, h) (bbox.py, the array case)."""
    x1, y1, x2, y2 = corner[0], corner[1], corner[2], corner[3]
    return (x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1


def score_size(cfg):
    """(INSTANCE_SIZE - EXEMPLAR_SIZE) // STRIDE + 1 + BASE_SIZE: 25."""
    t = cfg["TRACK"]
    return (t["INSTANCE_SIZE"] - t["EXEMPLAR_SIZE"]) // cfg["POINT"]["STRIDE"] + 1 + t["BASE_SIZE"]


def hanning_window(size):
    """The cosine window, flattened row-major (float64, size * size)."""
    hanning = np.hanning(size)
    return np.outer(hanning, hanning).flatten()


def generate_points(stride, size):
    """size * size x 2 float32 (x, y) offsets from the search crop's centre,
    row-major (y outer): -(size // 2) * stride + stride * (0 .. size-1)."""
    ori = -(size // 2) * stride
    x, y = np.meshgrid([ori + stride * dx for dx in np.arange(0, size)],
                       [ori + stride * dy for dy in np.arange(0, size)])
    points = np.zeros((size * size, 2), dtype=np.float32)
    points[:, 0], points[:, 1] = x.astype(np.float32).flatten(), y.astype(np.float32).flatten()
    return points


def point_grid(stride, size, image_center):
    """siamban/utils/point.py's Point(stride, size, image_center).points:
    2 x size x size float32 (x plane, y plane), the training-time grid
    (centred on image_center, e.g. 255 // 2); the tracker uses
    generate_points instead."""
    ori = image_center - size // 2 * stride
    x, y = np.meshgrid([ori + stride * dx for dx in np.arange(0, size)],
                       [ori + stride * dy for dy in np.arange(0, size)])
    points = np.zeros((2, size, size), dtype=np.float32)
    points[0, :, :], points[1, :, :] = x.astype(np.float32), y.astype(np.float32)
    return points


def get_subwindow(im, pos, model_sz, original_sz, avg_chans):
    """base_tracker.SiameseTracker.get_subwindow: the original_sz square
    around pos (rounded half up: floor(p - (sz + 1) / 2 + 0.5)), the image
    padded where the square leaves it with avg_chans (assigned into a uint8
    image, so truncated), cv2.resize'd (INTER_LINEAR, on the uint8 patch) to
    model_sz unless original_sz == model_sz. Returns 1 x 3 x model_sz x
    model_sz float32, BGR, 0-255 (no normalisation)."""
    import cv2  # imported here so that list_cases.py can import the fixture script without OpenCV
    if isinstance(pos, float):
        pos = [pos, pos]
    sz = original_sz
    im_sz = im.shape
    c = (original_sz + 1) / 2
    context_xmin = np.floor(pos[0] - c + 0.5)
    context_xmax = context_xmin + sz - 1
    context_ymin = np.floor(pos[1] - c + 0.5)
    context_ymax = context_ymin + sz - 1
    left_pad = int(max(0., -context_xmin))
    top_pad = int(max(0., -context_ymin))
    right_pad = int(max(0., context_xmax - im_sz[1] + 1))
    bottom_pad = int(max(0., context_ymax - im_sz[0] + 1))

    context_xmin = context_xmin + left_pad
    context_xmax = context_xmax + left_pad
    context_ymin = context_ymin + top_pad
    context_ymax = context_ymax + top_pad

    r, c, k = im.shape
    if any([top_pad, bottom_pad, left_pad, right_pad]):
        te_im = np.zeros((r + top_pad + bottom_pad, c + left_pad + right_pad, k), np.uint8)
        te_im[top_pad:top_pad + r, left_pad:left_pad + c, :] = im
        if top_pad:
            te_im[0:top_pad, left_pad:left_pad + c, :] = avg_chans
        if bottom_pad:
            te_im[r + top_pad:, left_pad:left_pad + c, :] = avg_chans
        if left_pad:
            te_im[:, 0:left_pad, :] = avg_chans
        if right_pad:
            te_im[:, c + left_pad:, :] = avg_chans
        im_patch = te_im[int(context_ymin):int(context_ymax + 1), int(context_xmin):int(context_xmax + 1), :]
    else:
        im_patch = im[int(context_ymin):int(context_ymax + 1), int(context_xmin):int(context_xmax + 1), :]

    if not np.array_equal(model_sz, original_sz):
        im_patch = cv2.resize(im_patch, (model_sz, model_sz))
    im_patch = im_patch.transpose(2, 0, 1)[np.newaxis, :, :, :].astype(np.float32)
    return torch.from_numpy(im_patch)


def _convert_bbox(delta, point):
    """loc (1 x 4 x S x S: distances left, top, right, bottom from each
    point, in search-crop pixels) to 4 x S*S float32 (cx, cy, w, h) relative
    to the crop's centre. As upstream, for a batch of 1 the numpy array
    shares loc's memory, so loc is overwritten."""
    delta = delta.permute(1, 2, 3, 0).contiguous().view(4, -1)
    delta = delta.detach().cpu().numpy()
    delta[0, :] = point[:, 0] - delta[0, :]
    delta[1, :] = point[:, 1] - delta[1, :]
    delta[2, :] = point[:, 0] + delta[2, :]
    delta[3, :] = point[:, 1] + delta[3, :]
    delta[0, :], delta[1, :], delta[2, :], delta[3, :] = corner2center(delta)
    return delta


def _convert_score(score, cls_out_channels=2):
    """cls (1 x C x S x S) to S*S float32 foreground probabilities: the
    softmax over the 2 channels' [:, 1], or the sigmoid when C is 1."""
    if cls_out_channels == 1:
        score = score.permute(1, 2, 3, 0).contiguous().view(-1)
        return score.sigmoid().detach().cpu().numpy()
    score = score.permute(1, 2, 3, 0).contiguous().view(cls_out_channels, -1).permute(1, 0)
    return score.softmax(1).detach()[:, 1].cpu().numpy()


def _bbox_clip(cx, cy, width, height, boundary):
    """boundary: img.shape[:2] (h, w). Centre into [0, w] x [0, h], size into [10, w] x [10, h]."""
    cx = max(0, min(cx, boundary[1]))
    cy = max(0, min(cy, boundary[0]))
    width = max(10, min(width, boundary[1]))
    height = max(10, min(height, boundary[0]))
    return cx, cy, width, height


def change(r):
    return np.maximum(r, 1. / r)


def sz(w, h):
    pad = (w + h) * 0.5
    return np.sqrt((w + pad) * (h + pad))


def penalise(score, pred_bbox, size, scale_z, window, track_cfg):
    """SiamBANTracker.track's selection: the scale and aspect-ratio penalty,
    the cosine window, the best index and the smoothing rate. size: the
    target's (w, h) before this frame, in image pixels. Returns a dict with
    penalty, pscore (after the window), best_idx, bbox (pred_bbox[:, best] /
    scale_z: cx, cy offsets and w, h in image pixels) and lr."""
    s_c = change(sz(pred_bbox[2, :], pred_bbox[3, :]) / (sz(size[0] * scale_z, size[1] * scale_z)))
    r_c = change((size[0] / size[1]) / (pred_bbox[2, :] / pred_bbox[3, :]))
    penalty = np.exp(-(r_c * s_c - 1) * track_cfg["PENALTY_K"])
    pscore = penalty * score
    pscore = pscore * (1 - track_cfg["WINDOW_INFLUENCE"]) + window * track_cfg["WINDOW_INFLUENCE"]
    best_idx = np.argmax(pscore)
    bbox = pred_bbox[:, best_idx] / scale_z
    lr = penalty[best_idx] * score[best_idx] * track_cfg["LR"]
    return {"penalty": penalty, "pscore": pscore, "best_idx": best_idx, "bbox": bbox, "lr": lr}


class SiamBANTracker:
    """siamban_tracker.SiamBANTracker with its settings from cfg (a CONFIGS
    entry). init(img, bbox) with a BGR uint8 image and (x, y, w, h) 0-based;
    track(img) -> {'bbox': [x, y, w, h], 'best_score': s}. After each call
    self.last holds that call's intermediate values (crops, raw outputs,
    score, pred_bbox, penalty, pscore, ...) for fixtures."""

    def __init__(self, model, cfg=None):
        self.cfg = cfg or CONFIGS["siamban_r50_l234"]
        self.score_size = score_size(self.cfg)
        self.cls_out_channels = self.cfg["BAN"]["KWARGS"]["cls_out_channels"]
        self.window = hanning_window(self.score_size)
        self.points = generate_points(self.cfg["POINT"]["STRIDE"], self.score_size)
        self.model = model
        self.model.eval()
        self.last = {}

    def init(self, img, bbox):
        t = self.cfg["TRACK"]
        self.center_pos = np.array([bbox[0] + (bbox[2] - 1) / 2, bbox[1] + (bbox[3] - 1) / 2])
        self.size = np.array([bbox[2], bbox[3]])
        w_z = self.size[0] + t["CONTEXT_AMOUNT"] * np.sum(self.size)
        h_z = self.size[1] + t["CONTEXT_AMOUNT"] * np.sum(self.size)
        s_z = round(np.sqrt(w_z * h_z))  # Python's round: half to even
        self.channel_average = np.mean(img, axis=(0, 1))
        z_crop = get_subwindow(img, self.center_pos, t["EXEMPLAR_SIZE"], s_z, self.channel_average)
        with torch.no_grad():
            self.model.template(z_crop)
        self.last = {"z_crop": z_crop, "s_z": s_z, "channel_average": self.channel_average,
                     "center_pos": self.center_pos.copy(), "size": self.size.copy()}

    def track(self, img):
        t = self.cfg["TRACK"]
        w_z = self.size[0] + t["CONTEXT_AMOUNT"] * np.sum(self.size)
        h_z = self.size[1] + t["CONTEXT_AMOUNT"] * np.sum(self.size)
        s_z = np.sqrt(w_z * h_z)  # not rounded here
        scale_z = t["EXEMPLAR_SIZE"] / s_z
        s_x = s_z * (t["INSTANCE_SIZE"] / t["EXEMPLAR_SIZE"])
        x_crop = get_subwindow(img, self.center_pos, t["INSTANCE_SIZE"], round(s_x), self.channel_average)
        with torch.no_grad():
            outputs = self.model.track(x_crop)
        raw_loc = outputs["loc"].clone()
        score = _convert_score(outputs["cls"], self.cls_out_channels)
        # upstream's _convert_bbox edits, through .numpy(), the memory of a
        # batch-1 loc (its permute is already contiguous): keep a copy
        pred_bbox = _convert_bbox(outputs["loc"], self.points)
        size_before, center_before = self.size.copy(), self.center_pos.copy()
        sel = penalise(score, pred_bbox, self.size, scale_z, self.window, t)
        bbox, lr, best_idx = sel["bbox"], sel["lr"], sel["best_idx"]

        cx = bbox[0] + self.center_pos[0]
        cy = bbox[1] + self.center_pos[1]
        width = self.size[0] * (1 - lr) + bbox[2] * lr
        height = self.size[1] * (1 - lr) + bbox[3] * lr
        cx, cy, width, height = _bbox_clip(cx, cy, width, height, img.shape[:2])

        self.center_pos = np.array([cx, cy])
        self.size = np.array([width, height])
        out_bbox = [cx - width / 2, cy - height / 2, width, height]
        best_score = score[best_idx]
        self.last = {"x_crop": x_crop, "cls": outputs["cls"], "loc": raw_loc, "score": score,
                     "pred_bbox": pred_bbox, "s_z": s_z, "scale_z": scale_z, "s_x": s_x, "s_x_rounded": round(s_x),
                     "center_pos_before": center_before, "size_before": size_before, **sel}
        return {"bbox": out_bbox, "best_score": best_score}
