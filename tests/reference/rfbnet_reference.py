"""A Python reference for the RFBNet detector (Liu et al., ECCV 2018), written
from the official code's RFB_Net_vgg, PriorBox, the configs, Detect, decode,
py_cpu_nms, test_RFB's post-processing, voc_eval and BaseTransform.

Module classes, attribute names and construction order are the official
ones, so state_dict keys and print(model) are the official net's; the plain
RFB_Net_vgg builds both RFBNet300 and RFBNet512 (RFB_Net_E_vgg is the
separate "RFBNet512-E" variant, not covered here).

Where the official code leaves an order to numpy's unstable sorts this
reference fixes it, and the C++ does the same:
  * NMS visits boxes by descending score, ties by lower row first (rows are
    in prior order, so: lower prior index first);
  * voc_eval ranks a class's detections by descending score (as rounded in
    the results file), ties in results-file order.
"""
import xml.etree.ElementTree as ET
from itertools import product
from math import sqrt

import numpy as np
import torch
import torch.nn as nn

VOC_CLASSES = ('__background__',  # index 0
               'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
               'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa',
               'train', 'tvmonitor')


# ---------------------------------------------------------------- the network

class BasicConv(nn.Module):
    """Conv (no bias by default), then BatchNorm (eps 1e-5, momentum 0.01), then ReLU."""

    def __init__(self, in_planes, out_planes, kernel_size, stride=1, padding=0, dilation=1, groups=1, relu=True,
                 bn=True, bias=False):
        super().__init__()
        self.out_channels = out_planes
        self.conv = nn.Conv2d(in_planes, out_planes, kernel_size=kernel_size, stride=stride, padding=padding,
                              dilation=dilation, groups=groups, bias=bias)
        self.bn = nn.BatchNorm2d(out_planes, eps=1e-5, momentum=0.01, affine=True) if bn else None
        self.relu = nn.ReLU(inplace=True) if relu else None

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.relu is not None:
            x = self.relu(x)
        return x


class BasicRFB(nn.Module):
    """Three branches (1x1 then 3x3 convs, dilations visual, visual+1,
    2*visual+1) concatenated, a 1x1 ConvLinear, plus a 1x1 shortcut:
    relu(ConvLinear * scale + shortcut). stride applies in each branch's
    first strided conv and in the shortcut."""

    def __init__(self, in_planes, out_planes, stride=1, scale=0.1, visual=1):
        super().__init__()
        self.scale = scale
        self.out_channels = out_planes
        inter = in_planes // 8
        self.branch0 = nn.Sequential(
            BasicConv(in_planes, 2 * inter, kernel_size=1, stride=stride),
            BasicConv(2 * inter, 2 * inter, kernel_size=3, stride=1, padding=visual, dilation=visual, relu=False))
        self.branch1 = nn.Sequential(
            BasicConv(in_planes, inter, kernel_size=1, stride=1),
            BasicConv(inter, 2 * inter, kernel_size=(3, 3), stride=stride, padding=(1, 1)),
            BasicConv(2 * inter, 2 * inter, kernel_size=3, stride=1, padding=visual + 1, dilation=visual + 1,
                      relu=False))
        self.branch2 = nn.Sequential(
            BasicConv(in_planes, inter, kernel_size=1, stride=1),
            BasicConv(inter, (inter // 2) * 3, kernel_size=3, stride=1, padding=1),
            BasicConv((inter // 2) * 3, 2 * inter, kernel_size=3, stride=stride, padding=1),
            BasicConv(2 * inter, 2 * inter, kernel_size=3, stride=1, padding=2 * visual + 1,
                      dilation=2 * visual + 1, relu=False))
        self.ConvLinear = BasicConv(6 * inter, out_planes, kernel_size=1, stride=1, relu=False)
        self.shortcut = BasicConv(in_planes, out_planes, kernel_size=1, stride=stride, relu=False)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x):
        out = torch.cat((self.branch0(x), self.branch1(x), self.branch2(x)), 1)
        out = self.ConvLinear(out)
        return self.relu(out * self.scale + self.shortcut(x))


class BasicRFB_a(nn.Module):
    """The conv4_3 block: four branches with 1x3 / 3x1 convs and dilations
    1, 3, 3, 5 (inter = in_planes // 4), ConvLinear and shortcut as BasicRFB."""

    def __init__(self, in_planes, out_planes, stride=1, scale=0.1):
        super().__init__()
        self.scale = scale
        self.out_channels = out_planes
        inter = in_planes // 4
        self.branch0 = nn.Sequential(
            BasicConv(in_planes, inter, kernel_size=1, stride=1),
            BasicConv(inter, inter, kernel_size=3, stride=1, padding=1, relu=False))
        self.branch1 = nn.Sequential(
            BasicConv(in_planes, inter, kernel_size=1, stride=1),
            BasicConv(inter, inter, kernel_size=(3, 1), stride=1, padding=(1, 0)),
            BasicConv(inter, inter, kernel_size=3, stride=1, padding=3, dilation=3, relu=False))
        self.branch2 = nn.Sequential(
            BasicConv(in_planes, inter, kernel_size=1, stride=1),
            BasicConv(inter, inter, kernel_size=(1, 3), stride=stride, padding=(0, 1)),
            BasicConv(inter, inter, kernel_size=3, stride=1, padding=3, dilation=3, relu=False))
        self.branch3 = nn.Sequential(
            BasicConv(in_planes, inter // 2, kernel_size=1, stride=1),
            BasicConv(inter // 2, (inter // 4) * 3, kernel_size=(1, 3), stride=1, padding=(0, 1)),
            BasicConv((inter // 4) * 3, inter, kernel_size=(3, 1), stride=stride, padding=(1, 0)),
            BasicConv(inter, inter, kernel_size=3, stride=1, padding=5, dilation=5, relu=False))
        self.ConvLinear = BasicConv(4 * inter, out_planes, kernel_size=1, stride=1, relu=False)
        self.shortcut = BasicConv(in_planes, out_planes, kernel_size=1, stride=stride, relu=False)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x):
        out = torch.cat((self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)), 1)
        out = self.ConvLinear(out)
        return self.relu(out * self.scale + self.shortcut(x))


def source_indicator(size):
    """Extras k is a source when k < indicator or k is even."""
    return {300: 3, 512: 5}[size]


class RFBNet(nn.Module):
    """SSD-style detector: VGG16 base, BasicRFB_a on conv4_3 (`Norm`), RFB
    extras, and per-source 3x3 loc/conf heads. Outputs loc N x P x 4 and
    conf: test, softmax over (N*P) x C; train, the raw N x P x C."""

    def __init__(self, phase, size, base, extras, head, num_classes):
        super().__init__()
        self.phase = phase
        self.num_classes = num_classes
        self.size = size
        self.indicator = source_indicator(size)
        self.base = nn.ModuleList(base)
        self.Norm = BasicRFB_a(512, 512, stride=1, scale=1.0)
        self.extras = nn.ModuleList(extras)
        self.loc = nn.ModuleList(head[0])
        self.conf = nn.ModuleList(head[1])
        if self.phase == 'test':
            self.softmax = nn.Softmax(dim=-1)

    def forward(self, x):
        sources = []
        for k in range(23):  # through conv4_3's ReLU
            x = self.base[k](x)
        sources.append(self.Norm(x))  # the base goes on from conv4_3 itself, not from Norm
        for k in range(23, len(self.base)):  # through fc7's ReLU
            x = self.base[k](x)
        for k, v in enumerate(self.extras):
            x = v(x)
            if k < self.indicator or k % 2 == 0:
                sources.append(x)
        # N x A*4 x H x W -> N x H x W x A*4, flattened: priors run row-major
        # over each source's map, its A anchors innermost.
        loc = torch.cat([l(s).permute(0, 2, 3, 1).reshape(s.size(0), -1) for s, l in zip(sources, self.loc)], 1)
        conf = torch.cat([c(s).permute(0, 2, 3, 1).reshape(s.size(0), -1) for s, c in zip(sources, self.conf)], 1)
        if self.phase == 'test':
            return loc.view(loc.size(0), -1, 4), self.softmax(conf.view(-1, self.num_classes))
        return loc.view(loc.size(0), -1, 4), conf.view(conf.size(0), -1, self.num_classes)


def vgg(cfg, i, batch_norm=False):
    """torchvision's make_layers with 'C' a ceil_mode pool, then pool5 (3x3,
    stride 1, pad 1), conv6 (3x3, dilation 6) and conv7 (1x1): 35 layers."""
    layers = []
    in_channels = i
    for v in cfg:
        if v in ('M', 'C'):
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=(v == 'C')))
            continue
        conv = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
        layers += [conv, nn.BatchNorm2d(v), nn.ReLU(inplace=True)] if batch_norm else [conv, nn.ReLU(inplace=True)]
        in_channels = v
    layers += [nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
               nn.Conv2d(512, 1024, kernel_size=3, padding=6, dilation=6), nn.ReLU(inplace=True),
               nn.Conv2d(1024, 1024, kernel_size=1), nn.ReLU(inplace=True)]
    return layers


base = {
    '300': [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'C', 512, 512, 512, 'M', 512, 512, 512],
    '512': [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'C', 512, 512, 512, 'M', 512, 512, 512],
}


def add_extras(size, cfg, i, batch_norm=False):
    """cfg walks channels with 'S' meaning: the next block strides by 2 to
    the following entry's channels (the entry after an 'S' adds nothing).
    A strided RFB from 256 channels at 512 uses visual=1, all others 2.
    Then two (512) or four (300) BasicConvs, with ReLU and BN."""
    layers = []
    in_channels = i
    for k, v in enumerate(cfg):
        if in_channels != 'S':
            if v == 'S':
                visual = 1 if (in_channels == 256 and size == 512) else 2
                layers.append(BasicRFB(in_channels, cfg[k + 1], stride=2, scale=1.0, visual=visual))
            else:
                layers.append(BasicRFB(in_channels, v, scale=1.0, visual=2))
        in_channels = v
    if size == 512:
        layers += [BasicConv(256, 128, kernel_size=1, stride=1),
                   BasicConv(128, 256, kernel_size=4, stride=1, padding=1)]
    else:
        layers += [BasicConv(256, 128, kernel_size=1, stride=1), BasicConv(128, 256, kernel_size=3, stride=1),
                   BasicConv(256, 128, kernel_size=1, stride=1), BasicConv(128, 256, kernel_size=3, stride=1)]
    return layers


extras = {
    '300': [1024, 'S', 512, 'S', 256],
    '512': [1024, 'S', 512, 'S', 256, 'S', 256, 'S', 256],
}


def multibox(size, vgg, extra_layers, cfg, num_classes):
    """3x3 pad-1 loc (A*4) and conf (A*num_classes) convs, with bias: one on
    Norm's 512 channels, then one per source extra."""
    loc_layers = [nn.Conv2d(512, cfg[0] * 4, kernel_size=3, padding=1)]
    conf_layers = [nn.Conv2d(512, cfg[0] * num_classes, kernel_size=3, padding=1)]
    indicator = source_indicator(size)
    i = 1
    for k, v in enumerate(extra_layers):
        if k < indicator or k % 2 == 0:
            loc_layers.append(nn.Conv2d(v.out_channels, cfg[i] * 4, kernel_size=3, padding=1))
            conf_layers.append(nn.Conv2d(v.out_channels, cfg[i] * num_classes, kernel_size=3, padding=1))
            i += 1
    return vgg, extra_layers, (loc_layers, conf_layers)


mbox = {
    '300': [6, 6, 6, 6, 4, 4],  # anchors per location of each source
    '512': [6, 6, 6, 6, 6, 4, 4],
}


def build_net(phase, size=300, num_classes=21):
    if phase not in ('test', 'train'):
        raise ValueError("phase must be test or train")
    if size not in (300, 512):
        raise ValueError("only RFBNet300 and RFBNet512 are supported")
    return RFBNet(phase, size, *multibox(size, vgg(base[str(size)], 3), add_extras(size, extras[str(size)], 1024),
                                         mbox[str(size)], num_classes), num_classes)


# ------------------------------------------------------------ priors and boxes

def _config(feature_maps, min_dim, steps, min_sizes, max_sizes, aspect_ratios):
    return {'feature_maps': feature_maps, 'min_dim': min_dim, 'steps': steps, 'min_sizes': min_sizes,
            'max_sizes': max_sizes, 'aspect_ratios': aspect_ratios, 'variance': [0.1, 0.2], 'clip': True}


VOC_300 = _config([38, 19, 10, 5, 3, 1], 300, [8, 16, 32, 64, 100, 300], [30, 60, 111, 162, 213, 264],
                  [60, 111, 162, 213, 264, 315], [[2, 3], [2, 3], [2, 3], [2, 3], [2], [2]])
VOC_512 = _config([64, 32, 16, 8, 4, 2, 1], 512, [8, 16, 32, 64, 128, 256, 512],
                  [35.84, 76.8, 153.6, 230.4, 307.2, 384.0, 460.8], [76.8, 153.6, 230.4, 307.2, 384.0, 460.8, 537.6],
                  [[2, 3], [2, 3], [2, 3], [2, 3], [2, 3], [2], [2]])
COCO_300 = _config([38, 19, 10, 5, 3, 1], 300, [8, 16, 32, 64, 100, 300], [21, 45, 99, 153, 207, 261],
                   [45, 99, 153, 207, 261, 315], [[2, 3], [2, 3], [2, 3], [2, 3], [2], [2]])
COCO_512 = _config([64, 32, 16, 8, 4, 2, 1], 512, [8, 16, 32, 64, 128, 256, 512],
                   [20.48, 51.2, 133.12, 215.04, 296.96, 378.88, 460.8],
                   [51.2, 133.12, 215.04, 296.96, 378.88, 460.8, 542.72],
                   [[2, 3], [2, 3], [2, 3], [2, 3], [2, 3], [2], [2]])
CONFIGS = {('voc', 300): VOC_300, ('voc', 512): VOC_512, ('coco', 300): COCO_300, ('coco', 512): COCO_512}


class PriorBox:
    """Priors (cx, cy, w, h), normalised, in the heads' order: per source k,
    rows i then columns j of its f x f map, then per location: the min-size
    square, the sqrt(min*max) square, and for each aspect ratio ar the pair
    (s*sqrt(ar), s/sqrt(ar)), (s/sqrt(ar), s*sqrt(ar)). The centre uses
    f_k = min_dim / step (37.5 for 300's first map, not 38). Computed in
    double, stored float32, then clamped to [0, 1] when clip is set."""

    def __init__(self, cfg):
        self.image_size = cfg['min_dim']
        self.variance = cfg['variance']
        self.feature_maps = cfg['feature_maps']
        self.min_sizes = cfg['min_sizes']
        self.max_sizes = cfg['max_sizes']
        self.steps = cfg['steps']
        self.aspect_ratios = cfg['aspect_ratios']
        self.clip = cfg['clip']

    def forward(self):
        mean = []
        for k, f in enumerate(self.feature_maps):
            f_k = self.image_size / self.steps[k]
            s_k = self.min_sizes[k] / self.image_size
            s_k_prime = sqrt(s_k * (self.max_sizes[k] / self.image_size))
            for i, j in product(range(f), repeat=2):
                cx = (j + 0.5) / f_k
                cy = (i + 0.5) / f_k
                mean += [cx, cy, s_k, s_k, cx, cy, s_k_prime, s_k_prime]
                for ar in self.aspect_ratios[k]:
                    mean += [cx, cy, s_k * sqrt(ar), s_k / sqrt(ar), cx, cy, s_k / sqrt(ar), s_k * sqrt(ar)]
        output = torch.tensor(mean, dtype=torch.float32).view(-1, 4)
        if self.clip:
            output.clamp_(max=1, min=0)
        return output


def decode(loc, priors, variances):
    """SSD box decoding in float32: centre = prior centre + loc * v0 * prior
    size, size = prior size * exp(loc * v1); then x1 = cx - w / 2 and
    x2 = x1 + w (x2 from x1, not from cx: the rounding differs)."""
    boxes = torch.cat((priors[:, :2] + loc[:, :2] * variances[0] * priors[:, 2:],
                       priors[:, 2:] * torch.exp(loc[:, 2:] * variances[1])), 1)
    boxes[:, :2] -= boxes[:, 2:] / 2
    boxes[:, 2:] += boxes[:, :2]
    return boxes


def detect(loc, conf, priors, variance=(0.1, 0.2)):
    """Detect.forward for one image: loc 1 x P x 4 and the test-phase conf
    P x C to boxes 1 x P x 4 (x1, y1, x2, y2, normalised; unclipped) and
    scores 1 x P x C (a copy). The official batch > 1 path is broken."""
    if loc.size(0) != 1:
        raise ValueError("Detect handles one image")
    return decode(loc[0], priors, variance).unsqueeze(0), conf.unsqueeze(0).clone()


# --------------------------------------------------------- post-processing

def py_cpu_nms(dets, thresh):
    """Greedy NMS on float32 (n x 5: x1, y1, x2, y2, score) with the +1
    pixel convention for widths and areas; a box survives while its IoU
    with every kept box is <= thresh (thresh compared as float32). Visits
    by descending score, ties by lower row first. Returns kept row indices."""
    dets = np.asarray(dets, dtype=np.float32)
    x1, y1, x2, y2, scores = (dets[:, c] for c in range(5))
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores, kind='stable')
    thresh = np.float32(thresh)
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        w = np.maximum(np.float32(0), np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(np.float32(0), np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        ovr = inter / (areas[i] + areas[rest] - inter)
        order = rest[ovr <= thresh]
    return keep


def postprocess(boxes, scores, thresh, nms_iou=0.45, max_per_image=200):
    """test_RFB.py's per-image step: boxes P x 4 (pixels), scores P x C.
    For each class j >= 1: rows with score > thresh (float32 comparison),
    NMS, dets n x 5 (x1, y1, x2, y2, score) in keep order. Then, when more
    than max_per_image survive over all classes, the max_per_image-th
    highest score is the cut and every det scoring >= it stays (ties may
    keep more). Returns a list of C arrays, entry 0 (background) empty."""
    boxes = np.asarray(boxes, dtype=np.float32)
    scores = np.asarray(scores, dtype=np.float32)
    num_classes = scores.shape[1]
    out = [np.empty((0, 5), dtype=np.float32) for _ in range(num_classes)]
    for j in range(1, num_classes):
        inds = np.where(scores[:, j] > np.float32(thresh))[0]
        if len(inds) == 0:
            continue
        c_dets = np.hstack((boxes[inds], scores[inds, j][:, None])).astype(np.float32)
        out[j] = c_dets[py_cpu_nms(c_dets, nms_iou)]
    if max_per_image > 0:
        image_scores = np.hstack([out[j][:, -1] for j in range(1, num_classes)])
        if len(image_scores) > max_per_image:
            image_thresh = np.sort(image_scores)[-max_per_image]
            for j in range(1, num_classes):
                out[j] = out[j][out[j][:, -1] >= image_thresh]
    return out


def detections_list(per_class, labels=None):
    """postprocess's arrays as [{"class", ("label",) "score", "box"}], by
    class ascending, each class in its emitted order."""
    dets = []
    for j, arr in enumerate(per_class):
        for row in arr:
            d = {"class": j, "score": float(row[4]), "box": [float(v) for v in row[:4]]}
            if labels is not None:
                d = {"class": j, "label": labels[j], "score": d["score"], "box": d["box"]}
            dets.append(d)
    return dets


# ------------------------------------------------------------ preprocessing

def base_transform(img, size, means=(104, 117, 123)):
    """BaseTransform on a cv2 (BGR, HWC uint8) image: cv2.resize to
    size x size with INTER_LINEAR, float32, minus the BGR means, CHW.
    Channels stay BGR; no scaling by a std."""
    import cv2
    x = cv2.resize(np.array(img), (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    x -= np.array(means, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


# ---------------------------------------------------------- VOC evaluation

def parse_rec(filename):
    """A VOC annotation's objects: name, pose, truncated, difficult and the
    integer bbox [xmin, ymin, xmax, ymax] as written (1-based, unshifted)."""
    objects = []
    for obj in ET.parse(filename).findall('object'):
        bbox = obj.find('bndbox')
        objects.append({'name': obj.find('name').text, 'pose': obj.find('pose').text,
                        'truncated': int(obj.find('truncated').text),
                        'difficult': int(obj.find('difficult').text),
                        'bbox': [int(bbox.find(t).text) for t in ('xmin', 'ymin', 'xmax', 'ymax')]})
    return objects


def results_lines(all_boxes, image_ids, cls_ind):
    """_write_voc_results_file's lines for one class, in file order (images
    in the image set's order, each image's dets in emitted order): the score
    to 3 decimals, the box + 1 (float32) to 1 decimal. Rounding matters:
    it makes ties and it is what voc_eval reads back."""
    lines = []
    for im_ind, image_id in enumerate(image_ids):
        dets = all_boxes[cls_ind][im_ind]
        for k in range(len(dets)):
            d = np.asarray(dets[k], dtype=np.float32)
            lines.append('{:s} {:.3f} {:.1f} {:.1f} {:.1f} {:.1f}'.format(
                image_id, d[-1], d[0] + 1, d[1] + 1, d[2] + 1, d[3] + 1))
    return lines


def voc_ap(rec, prec, use_07_metric=False):
    """VOC07: the mean over t in np.arange(0, 1.1, 0.1) (so t = i * 0.1 in
    double: 0.30000000000000004 etc.) of max precision where rec >= t, 0
    where none; otherwise the area under the precision envelope."""
    if use_07_metric:
        ap = 0.
        for t in np.arange(0., 1.1, 0.1):
            p = 0 if np.sum(rec >= t) == 0 else np.max(prec[rec >= t])
            ap = ap + p / 11.
        return ap
    mrec = np.concatenate(([0.], rec, [1.]))
    mpre = np.concatenate(([0.], prec, [0.]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])


def voc_eval(lines, recs, imagenames, classname, ovthresh=0.5, use_07_metric=False):
    """voc_eval over results-file lines ('id score x1 y1 x2 y2') and parsed
    annotations {id: parse_rec(...)}. Detections go by descending score,
    ties in line order; each takes its highest-IoU ground truth (first on
    ties; IoU in double with +1 widths); IoU > ovthresh on a difficult one
    counts neither way, on a free one a TP, on a taken one an FP; else FP.
    npos counts non-difficult objects. A class with no ground truth gets
    recall 0/0 = nan, so AP 0; one with no detections gets AP 0 (the
    official code would fail on an empty file). Returns rec, prec, ap."""
    class_recs = {}
    npos = 0
    for name in imagenames:
        R = [obj for obj in recs[name] if obj['name'] == classname]
        difficult = np.array([x['difficult'] for x in R]).astype(bool)
        npos += int(np.sum(~difficult))
        class_recs[name] = {'bbox': np.array([x['bbox'] for x in R], dtype=float).reshape(-1, 4),
                            'difficult': difficult, 'det': [False] * len(R)}
    split = [x.strip().split(' ') for x in lines]
    image_ids = [x[0] for x in split]
    confidence = np.array([float(x[1]) for x in split])
    BB = np.array([[float(z) for z in x[2:]] for x in split]).reshape(-1, 4)
    sorted_ind = np.argsort(-confidence, kind='stable')
    BB = BB[sorted_ind, :]
    image_ids = [image_ids[x] for x in sorted_ind]
    nd = len(image_ids)
    tp = np.zeros(nd)
    fp = np.zeros(nd)
    for d in range(nd):
        R = class_recs[image_ids[d]]
        bb = BB[d, :]
        ovmax = -np.inf
        BBGT = R['bbox']
        if BBGT.size > 0:
            iw = np.maximum(np.minimum(BBGT[:, 2], bb[2]) - np.maximum(BBGT[:, 0], bb[0]) + 1., 0.)
            ih = np.maximum(np.minimum(BBGT[:, 3], bb[3]) - np.maximum(BBGT[:, 1], bb[1]) + 1., 0.)
            inters = iw * ih
            uni = ((bb[2] - bb[0] + 1.) * (bb[3] - bb[1] + 1.) +
                   (BBGT[:, 2] - BBGT[:, 0] + 1.) * (BBGT[:, 3] - BBGT[:, 1] + 1.) - inters)
            overlaps = inters / uni
            ovmax = np.max(overlaps)
            jmax = np.argmax(overlaps)
        if ovmax > ovthresh:
            if not R['difficult'][jmax]:
                if not R['det'][jmax]:
                    tp[d] = 1.
                    R['det'][jmax] = True
                else:
                    fp[d] = 1.
        else:
            fp[d] = 1.
    fp = np.cumsum(fp)
    tp = np.cumsum(tp)
    with np.errstate(divide='ignore', invalid='ignore'):
        rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return rec, prec, voc_ap(rec, prec, use_07_metric)


def evaluate_detections(all_boxes, image_ids, recs, use_07_metric=True, classes=VOC_CLASSES):
    """_do_python_eval: all_boxes[class][image] (n x 5 arrays) through the
    results-file lines to an AP per class; mAP is the mean over every
    class but the background, classes without ground truth included (AP 0)."""
    aps = {}
    for j, cls in enumerate(classes):
        if j == 0:
            continue
        _, _, ap = voc_eval(results_lines(all_boxes, image_ids, j), recs, image_ids, cls, 0.5, use_07_metric)
        aps[cls] = float(ap)
    aps['mAP'] = float(np.mean([aps[c] for c in classes[1:]]))
    return aps
