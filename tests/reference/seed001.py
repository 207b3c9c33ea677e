"""seeds/001's ResNet reproduction, rebuilt from the seed's text as the
reference for reskit's seed_* models. Behaviour is the seed's, including its
quirks (ResidualUnit ignores `in_`; its skipconv only runs when stride1 == 2;
the stem's MaxPool2d has no padding and ceil_mode=True), with one deliberate
change: ResNet.forward returns its logits."""
from typing import List, Optional, Type, Union

import torch
from torch import nn


def _conv_bn(in_, out_, kernel, padding, stride, initialzero):
    bn = nn.BatchNorm2d(out_)
    if initialzero:
        nn.init.constant_(bn.weight, 0)
    return nn.Sequential(nn.Conv2d(in_, out_, kernel_size=kernel, padding=padding, stride=stride, bias=False), bn)


def conv3x3(in_, out_, stride=1, initialzero=False):
    return _conv_bn(in_, out_, 3, 1, stride, initialzero)


def conv1x1(in_, out_, stride=1, initialzero=False):
    return _conv_bn(in_, out_, 1, 0, stride, initialzero)


class ResidualUnit(nn.Module):
    def __init__(self, out_: int, stride1: int = 1, in_: Optional[int] = None):
        super().__init__()
        self.stride1 = stride1
        in_ = int(out_ / 2) if stride1 != 1 else out_  # the seed overrides in_ either way
        self.fit_ = nn.Sequential(conv3x3(in_, out_, stride=stride1), nn.ReLU(inplace=True),
                                  conv3x3(out_, out_, initialzero=True))
        self.skipconv = conv1x1(in_, out_, stride=stride1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        fx = self.fit_(x)
        if self.stride1 == 2:
            x = self.skipconv(x)
        return self.relu(fx + x)


class Bottleneck(nn.Module):
    def __init__(self, middle_out, stride1: int = 1, in_: Optional[int] = None):
        super().__init__()
        out_ = 4 * middle_out
        if in_ is None:
            in_ = middle_out * 2 if stride1 != 1 else middle_out * 4
        self.fit_ = nn.Sequential(conv1x1(in_, middle_out, stride=stride1), nn.ReLU(inplace=True),
                                  conv3x3(middle_out, middle_out), nn.ReLU(inplace=True),
                                  conv1x1(middle_out, out_, initialzero=True))
        self.skipconv = conv1x1(in_, out_, stride=stride1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        fx = self.fit_(x)
        x = self.skipconv(x)
        return self.relu(fx + x)


def make_layers(block: Type[Union[ResidualUnit, Bottleneck]], middle_out: int, num_blocks: int,
                afterconv1: bool = False):
    layers = [block(middle_out, in_=64) if afterconv1 else block(middle_out, stride1=2)]
    for _ in range(num_blocks - 1):
        layers.append(block(middle_out))
    return nn.Sequential(*layers)


class ResNet(nn.Module):
    def __init__(self, block: Type[Union[ResidualUnit, Bottleneck]], layers: List[int], num_classes: int):
        super().__init__()
        self.layer1 = nn.Sequential(nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False),
                                    nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                    nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True))
        self.layer2_x = make_layers(block, 64, layers[0], afterconv1=True)
        self.layer3_x = make_layers(block, 128, layers[1])
        self.layer4_x = make_layers(block, 256, layers[2])
        self.layer5_x = make_layers(block, 512, layers[3])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 if block == ResidualUnit else 2048, num_classes)

    def forward(self, x):
        x = self.layer1(x)
        x = self.layer5_x(self.layer4_x(self.layer3_x(self.layer2_x(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)
