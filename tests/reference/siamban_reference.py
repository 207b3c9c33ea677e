"""A Python reference for SiamBAN (Chen et al., CVPR 2020), written from the
behaviour of the official code (github.com/hqucv/siamban): the inference
model of siamban_r50_l234 (ModelBuilder's template/track over the atrous
ResNet-50, AdjustAllLayer and MultiBAN) and SiamBANTracker with its
get_subwindow, settings as in core/config.py and the experiments'
config.yaml files.

Class names, attribute names and the order in which modules are built are
the official ones, so state_dict keys, print(model) and the seeded
initialisation equal the official ModelBuilder's (checked against it when
this file was written). Training code (losses, forward(data)) is left out:
forward(z, x) here is template(z), then track(x)'s (cls, loc).

The tracker runs over numpy as the official one does on the CPU; where
numpy's dtype rules decide a result (float32 arrays against float64
scalars, numpy 1.x), the expressions keep upstream's operand types.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------- settings

# core/config.py's cfg.TRACK defaults, which a config.yaml overrides.
DEFAULT_TRACK = {"TYPE": "SiamBANTracker", "PENALTY_K": 0.14, "WINDOW_INFLUENCE": 0.45, "LR": 0.30,
                 "EXEMPLAR_SIZE": 127, "INSTANCE_SIZE": 255, "BASE_SIZE": 8, "CONTEXT_AMOUNT": 0.5}


def _config(**track):
    return {"TRACK": {**DEFAULT_TRACK, **track}, "POINT": {"STRIDE": 8},
            "BAN": {"KWARGS": {"in_channels": [256, 256, 256], "cls_out_channels": 2, "weighted": True}},
            "ADJUST": {"KWARGS": {"in_channels": [512, 1024, 2048], "out_channels": [256, 256, 256]}},
            "BACKBONE": {"TYPE": "resnet50", "KWARGS": {"used_layers": [2, 3, 4]}}}


# experiments/<name>/config.yaml's hyper-parameters, as the files spell them.
CONFIGS = {
    # VOT2018's (the file's VOT2019 values are commented out).
    "siamban_r50_l234": _config(WINDOW_INFLUENCE=0.4632532824922313, PENALTY_K=0.08513642556896711,
                                LR=0.44418184746462425),
    "siamban_r50_l234_otb": _config(WINDOW_INFLUENCE=0.3850733326567302, PENALTY_K=0.020530504470126613,
                                    LR=0.4730770315643308),
}


# ---------------------------------------------------------------- backbone

def _conv_bn(cin, cout, k, stride=1, padding=0, dilation=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride=stride, padding=padding, dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout))


def _shortcut(cin, cout, stride, dilation):
    """A stage's projection: 1x1 where neither strided nor dilated, else 3x3
    (stride 2 unpadded in layer2; at half the stage's dilation in layer3/4)."""
    if stride == 1 and dilation == 1:
        return _conv_bn(cin, cout, 1)
    rate = max(dilation // 2, 1)
    return _conv_bn(cin, cout, 3, stride=stride, padding=rate if dilation > 1 else 0, dilation=rate)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, dilation=1):
        super().__init__()
        # The 3x3's geometry: a stage's first block runs at half its
        # dilation; undilated, the padding is 2 - stride (none when strided).
        halved = downsample is not None and dilation > 1
        rate = dilation // 2 if halved else dilation
        assert stride == 1 or rate == 1, "a block is strided or dilated, not both"
        padding = rate if halved or rate > 1 else 2 - stride
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=padding, dilation=rate, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        y += x if self.downsample is None else self.downsample(x)
        return self.relu(y)


class ResNet(nn.Module):
    """resnet_atrous.ResNet with Bottleneck blocks: an unpadded 7x7/2 stem,
    layer2 at stride 2, layer3 and layer4 dilated 2 and 4 at stride 1.
    forward returns the maps of used_layers among (stem ReLU, layer1..4)."""

    def __init__(self, blocks, used_layers):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.used_layers = used_layers
        deepest = max(used_layers)
        # (planes, stride, dilation); layer3 exists when 3 or 4 is used, layer4 when 4 is.
        stages = [(64, 1, 1), (128, 2, 1), (256, 1, 2), (512, 1, 4)][:max(2, min(deepest, 4))]
        for i, (planes, stride, dilation) in enumerate(stages):
            setattr(self, f"layer{i + 1}", self._stage(planes, blocks[i], stride, dilation))
        for m in self.modules():  # upstream's init: N(0, sqrt(2 / (k * k * out))), BN at 1 and 0
            if isinstance(m, nn.Conv2d):
                m.weight.data.normal_(0, math.sqrt(2. / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()

    def _stage(self, planes, count, stride, dilation):
        width = planes * Bottleneck.expansion
        shortcut = None
        if stride != 1 or self.inplanes != width:
            shortcut = _shortcut(self.inplanes, width, stride, dilation)  # built before the blocks, as upstream
        first = Bottleneck(self.inplanes, planes, stride, shortcut, dilation=dilation)
        self.inplanes = width
        return nn.Sequential(first, *[Bottleneck(width, planes, dilation=dilation) for _ in range(1, count)])

    def forward(self, x):
        maps = [self.relu(self.bn1(self.conv1(x)))]
        y = self.maxpool(maps[0])
        for i in range(1, 5):
            layer = getattr(self, f"layer{i}", None)
            y = layer(y) if layer is not None else y  # an unbuilt layer passes its input on
            maps.append(y)
        picked = [maps[i] for i in self.used_layers]
        return picked[0] if len(picked) == 1 else picked


def resnet50(**kwargs):
    return ResNet([3, 4, 6, 3], **kwargs)


# ---------------------------------------------------------------- neck

class AdjustLayer(nn.Module):
    """1x1 conv + BN; a map narrower than 20 (the template's 15 x 15) keeps
    rows and columns 4..10. Upstream's threshold is 20 and its window starts
    at 4 whatever the width; seeds/003 prints the threshold as 16, which
    sorts the 15-wide template and the 31-wide search the same way."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.downsample = _conv_bn(in_channels, out_channels, 1)

    def forward(self, x):
        x = self.downsample(x)
        return x[:, :, 4:11, 4:11] if x.size(3) < 20 else x


class AdjustAllLayer(nn.Module):
    """An AdjustLayer per level: `downsample` alone, or downsample2, 3, ..."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.num = len(out_channels)
        names = ["downsample"] if self.num == 1 else [f"downsample{i + 2}" for i in range(self.num)]
        for name, cin, cout in zip(names, in_channels, out_channels):
            self.add_module(name, AdjustLayer(cin, cout))
        self._names = names

    def forward(self, features):
        if self.num == 1:
            return self.downsample(features)
        return [getattr(self, name)(f) for name, f in zip(self._names, features)]


# ---------------------------------------------------------------- head

def xcorr_depthwise(x, kernel):
    """Every (sample, channel) plane of x correlated with its plane of
    kernel: one convolution with batch * channel groups."""
    n, c = kernel.shape[:2]
    out = F.conv2d(x.reshape(1, n * c, *x.shape[2:]), kernel.reshape(n * c, 1, *kernel.shape[2:]), groups=n * c)
    return out.reshape(n, c, *out.shape[2:])


def _conv_bn_relu(cin, cout, k):
    return nn.Sequential(nn.Conv2d(cin, cout, k, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class DepthwiseXCorr(nn.Module):
    def __init__(self, in_channels, hidden, out_channels, kernel_size=3):
        super().__init__()
        self.conv_kernel = _conv_bn_relu(in_channels, hidden, kernel_size)
        self.conv_search = _conv_bn_relu(in_channels, hidden, kernel_size)
        self.head = nn.Sequential(*_conv_bn_relu(hidden, hidden, 1), nn.Conv2d(hidden, out_channels, 1))

    def forward(self, kernel, search):
        kernel = self.conv_kernel(kernel)
        return self.head(xcorr_depthwise(self.conv_search(search), kernel))


class DepthwiseBAN(nn.Module):
    def __init__(self, in_channels=256, out_channels=256, cls_out_channels=2, weighted=False):
        super().__init__()
        self.cls = DepthwiseXCorr(in_channels, out_channels, cls_out_channels)
        self.loc = DepthwiseXCorr(in_channels, out_channels, 4)

    def forward(self, z_f, x_f):
        return self.cls(z_f, x_f), self.loc(z_f, x_f)


class MultiBAN(nn.Module):
    """box2, box3, ...; level i's loc is exp(loc_i * loc_scale[i]); the
    levels are summed with softmax(cls_weight) / softmax(loc_weight) when
    weighted, else averaged. Sums start from 0 and go level by level."""

    def __init__(self, in_channels, cls_out_channels, weighted=False):
        super().__init__()
        self.weighted = weighted
        for i, c in enumerate(in_channels):
            self.add_module(f"box{i + 2}", DepthwiseBAN(c, c, cls_out_channels))
        n = len(in_channels)
        if weighted:
            self.cls_weight = nn.Parameter(torch.ones(n))
            self.loc_weight = nn.Parameter(torch.ones(n))
        self.loc_scale = nn.Parameter(torch.ones(n))

    def forward(self, z_fs, x_fs):
        levels = [getattr(self, f"box{i + 2}")(z, x) for i, (z, x) in enumerate(zip(z_fs, x_fs))]
        cls = [c for c, _ in levels]
        loc = [torch.exp(l * self.loc_scale[i]) for i, (_, l) in enumerate(levels)]
        if not self.weighted:
            return sum(cls) / len(cls), sum(loc) / len(loc)
        wc, wl = F.softmax(self.cls_weight, 0), F.softmax(self.loc_weight, 0)
        return sum(c * wc[i] for i, c in enumerate(cls)), sum(l * wl[i] for i, l in enumerate(loc))


# ---------------------------------------------------------------- model

class ModelBuilder(nn.Module):
    """backbone, neck, head of a CONFIGS entry (default siamban_r50_l234).
    template(z) keeps the template's features; track(x) returns
    {'cls': N x 2 x 25 x 25, 'loc': N x 4 x 25 x 25} for z 127 and x 255."""

    def __init__(self, config=None):
        super().__init__()
        config = config or CONFIGS["siamban_r50_l234"]
        assert config["BACKBONE"]["TYPE"] == "resnet50"
        self.backbone = resnet50(**config["BACKBONE"]["KWARGS"])
        self.neck = AdjustAllLayer(**config["ADJUST"]["KWARGS"])
        self.head = MultiBAN(**config["BAN"]["KWARGS"])

    def template(self, z):
        self.zf = self.neck(self.backbone(z))

    def track(self, x):
        cls, loc = self.head(self.zf, self.neck(self.backbone(x)))
        return {"cls": cls, "loc": loc}

    def forward(self, z, x):
        self.template(z)
        out = self.track(x)
        return out["cls"], out["loc"]


SiamBAN = ModelBuilder


# ---------------------------------------------------------------- the tracker's pieces

def score_size(cfg):
    """The response map's side: (INSTANCE - EXEMPLAR) // STRIDE + 1 + BASE_SIZE (25)."""
    t = cfg["TRACK"]
    return (t["INSTANCE_SIZE"] - t["EXEMPLAR_SIZE"]) // cfg["POINT"]["STRIDE"] + 1 + t["BASE_SIZE"]


def hanning_window(size):
    """The outer product of two Hann windows, flattened row-major (float64)."""
    return np.outer(np.hanning(size), np.hanning(size)).ravel()


def generate_points(stride, size):
    """(size * size) x 2 float32 (x, y) offsets of the map's cells from the
    search crop's centre, row-major: stride * (k - size // 2)."""
    offsets = stride * (np.arange(size) - size // 2)
    ys, xs = np.meshgrid(offsets, offsets, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


def get_subwindow(im, pos, model_sz, original_sz, avg_chans):
    """The original_sz square around pos (its corner at pos - (sz + 1) / 2,
    rounded half up), where it leaves the image filled with avg_chans as a
    uint8 image holds it (truncated), resized as uint8 (cv2's INTER_LINEAR)
    to model_sz unless already that size. 1 x 3 x model_sz x model_sz
    float32, BGR on 0-255."""
    import cv2  # here, so that list_cases.py imports the fixture script without OpenCV
    if isinstance(pos, float):
        pos = [pos, pos]
    h, w = im.shape[:2]
    x0 = int(np.floor(pos[0] - (original_sz + 1) / 2 + 0.5))
    y0 = int(np.floor(pos[1] - (original_sz + 1) / 2 + 0.5))
    side = int(original_sz)
    left, top = max(0, -x0), max(0, -y0)
    right, bottom = max(0, x0 + side - w), max(0, y0 + side - h)
    if left or top or right or bottom:
        canvas = np.empty((h + top + bottom, w + left + right, im.shape[2]), np.uint8)
        canvas[:] = np.asarray(avg_chans).astype(np.uint8)
        canvas[top:top + h, left:left + w] = im
        patch = canvas[y0 + top:y0 + top + side, x0 + left:x0 + left + side]
    else:
        patch = im[y0:y0 + side, x0:x0 + side]
    if model_sz != original_sz:
        patch = cv2.resize(patch, (model_sz, model_sz))
    return torch.from_numpy(np.ascontiguousarray(patch.transpose(2, 0, 1)[None]).astype(np.float32))


def foreground_scores(cls, cls_out_channels=2):
    """cls (1 x C x S x S) to the S*S foreground probabilities, row-major:
    channel 1 of a softmax over the channels, or the sigmoid when C is 1."""
    per_cell = cls.permute(1, 2, 3, 0).contiguous().view(cls_out_channels, -1)
    if cls_out_channels == 1:
        return per_cell.view(-1).sigmoid().numpy()
    return per_cell.permute(1, 0).softmax(1)[:, 1].numpy()


def decode_boxes(loc, points):
    """loc (1 x 4 x S x S: distances to the left, top, right and bottom
    edges, crop pixels) around each point to 4 x S*S float32 (cx, cy, w, h)
    relative to the crop's centre."""
    l, t, r, b = loc.permute(1, 2, 3, 0).reshape(4, -1).numpy().copy()
    x1, y1 = points[:, 0] - l, points[:, 1] - t
    x2, y2 = points[:, 0] + r, points[:, 1] + b
    return np.stack([(x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1])


def _context_side(size, amount):
    """sqrt((w + p)(h + p)) with p = amount * (w + h): the side of the square with context."""
    pad = amount * np.sum(size)
    return np.sqrt((size[0] + pad) * (size[1] + pad))


def _worse(r):
    return np.maximum(r, 1. / r)


def _padded_side(w, h):
    pad = (w + h) * 0.5
    return np.sqrt((w + pad) * (h + pad))


def penalise(score, pred_bbox, size, scale_z, window, track_cfg):
    """The choice among the cells: scores times a penalty on the change of
    scale and aspect ratio against the current size (w, h image pixels),
    blended with the window; the best cell's box in image pixels
    (pred_bbox / scale_z) and the size's learning rate."""
    scale_change = _worse(_padded_side(pred_bbox[2], pred_bbox[3]) / _padded_side(size[0] * scale_z, size[1] * scale_z))
    ratio_change = _worse((size[0] / size[1]) / (pred_bbox[2] / pred_bbox[3]))
    penalty = np.exp(-(ratio_change * scale_change - 1) * track_cfg["PENALTY_K"])
    influence = track_cfg["WINDOW_INFLUENCE"]
    pscore = penalty * score * (1 - influence) + window * influence
    best_idx = np.argmax(pscore)
    return {"penalty": penalty, "pscore": pscore, "best_idx": best_idx, "bbox": pred_bbox[:, best_idx] / scale_z,
            "lr": penalty[best_idx] * score[best_idx] * track_cfg["LR"]}


class SiamBANTracker:
    """init(img, (x, y, w, h)) on a BGR uint8 image, then track(img) ->
    {'bbox': [x, y, w, h], 'best_score': s}. `last` holds the latest call's
    intermediate values (crops, raw outputs, scores, boxes, penalties)."""

    def __init__(self, model, cfg=None):
        self.cfg = cfg or CONFIGS["siamban_r50_l234"]
        self.window = hanning_window(score_size(self.cfg))
        self.points = generate_points(self.cfg["POINT"]["STRIDE"], score_size(self.cfg))
        self.cls_out_channels = self.cfg["BAN"]["KWARGS"]["cls_out_channels"]
        self.model = model.eval()
        self.last = {}

    def init(self, img, bbox):
        t = self.cfg["TRACK"]
        self.center_pos = np.array([bbox[0] + (bbox[2] - 1) / 2, bbox[1] + (bbox[3] - 1) / 2])
        self.size = np.array([bbox[2], bbox[3]])
        s_z = round(_context_side(self.size, t["CONTEXT_AMOUNT"]))  # half to even
        self.channel_average = np.mean(img, axis=(0, 1))
        z_crop = get_subwindow(img, self.center_pos, t["EXEMPLAR_SIZE"], s_z, self.channel_average)
        with torch.no_grad():
            self.model.template(z_crop)
        self.last = {"z_crop": z_crop, "s_z": s_z, "channel_average": self.channel_average,
                     "center_pos": self.center_pos.copy(), "size": self.size.copy()}

    def track(self, img):
        t = self.cfg["TRACK"]
        s_z = _context_side(self.size, t["CONTEXT_AMOUNT"])  # unrounded here
        scale_z = t["EXEMPLAR_SIZE"] / s_z
        s_x = s_z * (t["INSTANCE_SIZE"] / t["EXEMPLAR_SIZE"])
        x_crop = get_subwindow(img, self.center_pos, t["INSTANCE_SIZE"], round(s_x), self.channel_average)
        with torch.no_grad():
            out = self.model.track(x_crop)
        score = foreground_scores(out["cls"], self.cls_out_channels)
        pred_bbox = decode_boxes(out["loc"], self.points)
        before = {"center_pos_before": self.center_pos.copy(), "size_before": self.size.copy()}
        choice = penalise(score, pred_bbox, self.size, scale_z, self.window, t)
        box, lr = choice["bbox"], choice["lr"]

        # The centre moves to the best box; the size moves towards it by lr;
        # then both are clipped to the image (sizes at least 10).
        img_h, img_w = img.shape[:2]
        cx = max(0, min(box[0] + self.center_pos[0], img_w))
        cy = max(0, min(box[1] + self.center_pos[1], img_h))
        width = max(10, min(self.size[0] * (1 - lr) + box[2] * lr, img_w))
        height = max(10, min(self.size[1] * (1 - lr) + box[3] * lr, img_h))
        self.center_pos = np.array([cx, cy])
        self.size = np.array([width, height])
        self.last = {"x_crop": x_crop, "cls": out["cls"], "loc": out["loc"], "score": score, "pred_bbox": pred_bbox,
                     "s_z": s_z, "scale_z": scale_z, "s_x": s_x, "s_x_rounded": round(s_x), **before, **choice}
        return {"bbox": [cx - width / 2, cy - height / 2, width, height], "best_score": score[choice["best_idx"]]}
