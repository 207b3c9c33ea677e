"""A Python reference for seeds/004's EncNet (Zhang et al., "Context
Encoding for Semantic Segmentation", CVPR 2018) as the seed's blog post
builds it and trains it on CamVid: ENCNet = backbone (a torchvision-style
ResNet returning the four stages' outputs) + decoder (EncHead: bottleneck
conv, optional laterals, EncModule around the Encoding layer, an 8x
bilinear upsample, cls_seg at full resolution, and the SE branch), and the
seed's training step.

Class names, attribute names and the order in which modules are built are
the seed's, so state_dict keys, print(model) and the seeded initialisation
(torch.manual_seed, then construction) equal the seed's code. So does the
initialisation itself: Kaiming normal (fan_out, relu) for the backbone's
convolutions only, its BatchNorm2d weight 1 and bias 0, codewords
uniform(-std, std) with std = 1/sqrt(num_codes * channels), scale
uniform(-1, 0), PyTorch's defaults elsewhere (the unused backbone.fc
included). Encoding keeps the seed's own __repr__.

The seed's evident bugs, fixed here:
  1. BasicBlock had expansion 4 and conv2 at the block's stride: a
     ResNet-18/34 backbone would not run. Here it is torchvision's
     (expansion 1, conv2 at stride 1).
  2. cls_seg's last conv had 33 outputs whatever num_classes, its first conv
     512 inputs whatever EncHead.channels, and ENCNet(num_classes) never
     passed num_classes to EncHead. Here they follow num_classes,
     head_channels and seg_channels.
  3. EncHead's in_channels were fixed at [256, 512, 1024, 2048] (ResNet-50's);
     here they are the backbone's: [64, 128, 256, 512] x block.expansion.
  4. ResNet._make_layer's dilate branch kept `stride = stride`, so a dilated
     stage would both stride and dilate; here `stride = 1`, as torchvision.
The seed's own layout stays: stage strides 1, 1, 2, 1 without dilation
(output stride 8, as its 8x upsample expects; the post's prose speaks of
dilation 2 and 4, its code has none). dilated=True gives the paper's
backbone instead: torchvision's strides 1, 2, 2, 2 with
replace_stride_with_dilation [False, True, True] (output stride 8, layer3
dilated 2, layer4 4).

The training step (train_step) is the seed's recipe with one forward per
step (the seed calls the network twice, updating BatchNorm's statistics
twice): cross-entropy ignoring 255, plus se_weight x the SE loss against
which classes occur in each image: the seed's MSE on the raw SE logits
("mse"), or PyTorch-Encoding's SegmentationLosses form, BCE on their
sigmoid ("bce").
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

IGNORE_INDEX = 255

# ---------------------------------------------------------------- backbone


def _conv3x3(inplanes, planes, stride=1, groups=1, dilation=1):
    return nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=dilation, groups=groups, bias=False,
                     dilation=dilation)


class BasicBlock(nn.Module):
    """torchvision's two 3x3 convs (fix 1: the seed's had expansion 4 and
    strided both convs)."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class Bottleneck(nn.Module):
    """1x1, 3x3 (the stride and the dilation), 1x1 to planes x 4."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = nn.Conv2d(inplanes, width, kernel_size=1, stride=1, bias=False)
        self.bn1 = norm_layer(width)
        self.conv2 = _conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = nn.Conv2d(width, planes * self.expansion, kernel_size=1, stride=1, bias=False)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


SEED_STRIDES = (1, 1, 2, 1)  # layer1..layer4 as the seed builds them
DILATED_STRIDES = (1, 2, 2, 2)  # torchvision's, with replace_stride_with_dilation [False, True, True]


class ResNet(nn.Module):
    """The seed's ResNet: torchvision's modules (fc and avgpool included,
    though forward uses neither), forward returning [layer1, .., layer4].
    strides are layer1..layer4's (the seed fixes them at 1, 1, 2, 1)."""

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1, width_per_group=64,
                 replace_stride_with_dilation=None, norm_layer=None, strides=SEED_STRIDES):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("replace_stride_with_dilation should be None "
                             f"or a 3-element tuple, got {replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0], stride=strides[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=strides[1], dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=strides[2], dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=strides[3], dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        # Only the backbone's own modules: the head keeps PyTorch's defaults.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            # fix 4: the stride becomes dilation (the seed kept the stride too)
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride, bias=False),
                norm_layer(planes * block.expansion))
        stage = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width, previous_dilation,
                       norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            stage.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                               dilation=self.dilation, norm_layer=norm_layer))
        return nn.Sequential(*stage)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
            outs.append(x)
        return outs


BACKBONES = {
    "resnet18": (BasicBlock, [2, 2, 2, 2]),
    "resnet34": (BasicBlock, [3, 4, 6, 3]),
    "resnet50": (Bottleneck, [3, 4, 6, 3]),
    "resnet101": (Bottleneck, [3, 4, 23, 3]),
}


def build_backbone(name="resnet50", dilated=False):
    block, depths = BACKBONES[name]
    if dilated:
        return ResNet(block, depths, replace_stride_with_dilation=[False, True, True], strides=DILATED_STRIDES)
    return ResNet(block, depths)


# ---------------------------------------------------------------- Encoding


class Encoding(nn.Module):
    """The learnable residual encoder: for features x_i (the H x W positions
    of an N x C x H x W map) and codewords c_k with smoothing factors s_k,
    a_ik = softmax_k(s_k ||x_i - c_k||^2) and e_k = sum_i a_ik (x_i - c_k):
    N x K x C."""

    def __init__(self, channels, num_codes):
        super().__init__()
        self.channels, self.num_codes = channels, num_codes
        std = 1. / ((num_codes * channels) ** 0.5)
        self.codewords = nn.Parameter(torch.empty(num_codes, channels, dtype=torch.float).uniform_(-std, std),
                                      requires_grad=True)
        self.scale = nn.Parameter(torch.empty(num_codes, dtype=torch.float).uniform_(-1, 0), requires_grad=True)

    @staticmethod
    def scaled_l2(x, codewords, scale):
        """x: N x P x C -> N x P x K, s_k ||x_i - c_k||^2."""
        residual = x.unsqueeze(2) - codewords.view(1, 1, *codewords.shape)
        return scale.view(1, 1, -1) * residual.pow(2).sum(dim=3)

    @staticmethod
    def aggregate(assignment_weights, x, codewords):
        """N x P x K weights, N x P x C -> N x K x C."""
        residual = x.unsqueeze(2) - codewords.view(1, 1, *codewords.shape)
        return (assignment_weights.unsqueeze(3) * residual).sum(dim=1)

    def forward(self, x):
        assert x.dim() == 4 and x.size(1) == self.channels
        n = x.size(0)
        x = x.view(n, self.channels, -1).transpose(1, 2).contiguous()  # N x HW x C
        weights = F.softmax(self.scaled_l2(x, self.codewords, self.scale), dim=2)
        return self.aggregate(weights, x, self.codewords)

    def __repr__(self):
        return f"{self.__class__.__name__}(Nx{self.channels}xHxW =>Nx{self.num_codes}x{self.channels})"


# ---------------------------------------------------------------- head


class EncModule(nn.Module):
    """Context encoding: the codes' mean (N x C) and the features rescaled
    channel-wise by a sigmoid gate of it, relu(x + x * gamma)."""

    def __init__(self, in_channels, num_codes):
        super().__init__()
        self.encoding_project = nn.Conv2d(in_channels, in_channels, 1)
        self.encoding = nn.Sequential(Encoding(channels=in_channels, num_codes=num_codes), nn.BatchNorm1d(num_codes),
                                      nn.ReLU(inplace=True))
        self.fc = nn.Sequential(nn.Linear(in_channels, in_channels), nn.Sigmoid())

    def forward(self, x):
        encoding_feat = self.encoding(self.encoding_project(x)).mean(dim=1)
        n, c = x.shape[:2]
        gamma = self.fc(encoding_feat).view(n, c, 1, 1)
        return encoding_feat, F.relu_(x + x * gamma)


class EncHead(nn.Module):
    """in_channels are the backbone's four stage widths (fix 3); channels
    (head_channels) is the bottleneck's, EncModule's and se_layer's width;
    seg_channels is cls_seg's hidden width (fix 2)."""

    def __init__(self, num_classes=33, num_codes=32, use_se_loss=True, add_lateral=False,
                 in_channels=(256, 512, 1024, 2048), channels=512, seg_channels=256):
        super().__init__()
        self.use_se_loss = use_se_loss
        self.add_lateral = add_lateral
        self.num_codes = num_codes
        self.in_channels = list(in_channels)
        self.channels = channels
        self.num_classes = num_classes
        self.bottleneck = nn.Conv2d(self.in_channels[-1], self.channels, 3, padding=1)
        if add_lateral:
            self.lateral_convs = nn.ModuleList(nn.Conv2d(c, self.channels, 1) for c in self.in_channels[:-1])
            self.fusion = nn.Conv2d(len(self.in_channels) * self.channels, self.channels, 3, padding=1)
        self.enc_module = EncModule(self.channels, num_codes=num_codes)
        self.cls_seg = nn.Sequential(nn.Conv2d(self.channels, seg_channels, 3, padding=1), nn.BatchNorm2d(seg_channels),
                                     nn.ReLU(), nn.Conv2d(seg_channels, num_classes, 3, padding=1))
        if self.use_se_loss:
            self.se_layer = nn.Linear(self.channels, self.num_classes)

    def forward(self, inputs):
        feat = self.bottleneck(inputs[-1])
        if self.add_lateral:
            # layer1..layer3 resized bilinearly to the bottleneck's size (the seed's layer1/layer2 are at stride 4)
            laterals = [F.interpolate(conv(inputs[i]), size=feat.shape[2:], mode="bilinear", align_corners=False)
                        for i, conv in enumerate(self.lateral_convs)]
            feat = self.fusion(torch.cat([feat, *laterals], 1))
        encode_feat, output = self.enc_module(feat)
        output = F.interpolate(output, scale_factor=8, mode="bilinear", align_corners=False)
        output = self.cls_seg(output)
        if self.use_se_loss:
            return output, self.se_layer(encode_feat)
        return output


class ENCNet(nn.Module):
    """The seed's ENCNet with its options as reskit's encnet_r50 names them."""

    def __init__(self, num_classes=33, num_codes=32, use_se_loss=True, add_lateral=False, backbone="resnet50",
                 dilated=False, head_channels=512, seg_channels=256):
        super().__init__()
        self.num_classes = num_classes
        self.backbone = build_backbone(backbone, dilated)
        expansion = BACKBONES[backbone][0].expansion
        self.decoder = EncHead(num_classes=num_classes, num_codes=num_codes, use_se_loss=use_se_loss,
                               add_lateral=add_lateral, in_channels=[w * expansion for w in (64, 128, 256, 512)],
                               channels=head_channels, seg_channels=seg_channels)

    def forward(self, x):
        return self.decoder(self.backbone(x))


# ---------------------------------------------------------------- training


def se_target(labels, num_classes):
    """N x H x W integer labels -> N x num_classes float: 1 where class c
    occurs in image n. The ignore label (and anything >= num_classes)
    never counts."""
    n = labels.shape[0]
    flat = labels.reshape(n, -1).long()
    target = torch.zeros(n, num_classes, dtype=torch.float32)
    for i in range(n):
        present = flat[i][(flat[i] >= 0) & (flat[i] < num_classes)].unique()
        target[i, present] = 1.0
    return target


def se_loss_of(se_logits, target, form):
    if form == "mse":  # the seed's: MSE on the raw logits, mean over N x classes
        return F.mse_loss(se_logits, target)
    if form == "bce":  # PyTorch-Encoding's SegmentationLosses: BCE on the sigmoid, mean
        return F.binary_cross_entropy(torch.sigmoid(se_logits), target)
    raise ValueError(f"se_loss must be mse or bce, got {form}")


def recipe_loss(model, images, labels, se_weight=0.2, se_form="mse"):
    """One forward: (total, ce, se), labels N x H x W integers (255 ignored)."""
    out = model(images)
    seg, se = out if isinstance(out, tuple) else (out, None)
    y = labels.long()
    ce = nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX)(seg, y)
    if se is None:
        return ce, ce, torch.zeros(())
    se_l = se_loss_of(se, se_target(y, seg.shape[1]).to(se.dtype), se_form)
    return ce + se_weight * se_l, ce, se_l


def train_step(model, optimizer, images, labels, se_weight=0.2, se_form="mse"):
    """model.train(), one forward, backward, optimizer.step(); the losses as floats."""
    model.train()
    optimizer.zero_grad()
    total, ce, se = recipe_loss(model, images, labels, se_weight, se_form)
    total.backward()
    optimizer.step()
    return [float(total), float(ce), float(se)]
