"""PyTorch modules equivalent to frugal's architectures (training/models/*.cpp), with the same parameter
and buffer names, so a state_dict saved from one loads into the other. Used by check_pytorch_parity.py.

build_torch_model(model_section, sample_shape [C, H, W], classes) mirrors frugal's build_model for the
archs mlp, cnn, sequential, resnet, preact_resnet, resnet18/34/50 and vgg11/16 (the *_bn variants).
Parity runs switch dropout off on both sides: mlp/cnn get no dropout layers (frugal adds none at
model.dropout = 0) and sequential/VGG dropout layers are built with p = 0.
"""
import collections
import sys

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
               "softplus": nn.Softplus, "leaky_relu": lambda alpha=0.01: nn.LeakyReLU(alpha),
               "elu": lambda alpha=1.0: nn.ELU(alpha)}


class GlobalAvgPool(nn.Module):  # frugal's GlobalAvgPool: [N, C, H, W] -> [N, C]
    def forward(self, x):
        return x.mean(dim=(2, 3))


def mlp(model, shape, classes):
    act, layers, width = ACTIVATIONS[model.get("activation", "relu")], [nn.Flatten()], int(np.prod(shape))
    for hidden in model.get("hidden", [256]):
        layers += [nn.Linear(width, hidden), act()]
        width = hidden
    return nn.Sequential(*layers, nn.Linear(width, classes))


def cnn(model, shape, classes):
    act, bn, layers = ACTIVATIONS[model.get("activation", "relu")], model.get("batch_norm", True), []
    c, h, w = shape
    for out in model.get("channels", [32, 64]):
        layers.append(nn.Conv2d(c, out, 3, padding=1, bias=not bn))
        layers += [nn.BatchNorm2d(out)] if bn else []
        layers += [act(), nn.MaxPool2d(2, 2)]
        c, h, w = out, h // 2, w // 2
    return nn.Sequential(*layers, *mlp(model, [c, h, w], classes))


def sequential(model, shape, classes):
    modules, shape = collections.OrderedDict(), list(shape)
    for i, layer in enumerate(model["layers"]):
        kind, name = layer["type"], layer.get("name", str(i))
        if "." in name:
            sys.exit(f"model.layers[{i}].name '{name}': names with dots are not supported here")
        if kind == "conv2d":
            m = nn.Conv2d(shape[0], layer["out_channels"], layer["kernel"], layer.get("stride", 1),
                          layer.get("padding", 0), layer.get("dilation", 1), layer.get("groups", 1),
                          layer.get("bias", True))
        elif kind == "linear":
            m = nn.Linear(shape[0], layer.get("out_features", classes), layer.get("bias", True))
        elif kind in ("batchnorm2d", "batchnorm1d"):
            bn = nn.BatchNorm2d if kind == "batchnorm2d" else nn.BatchNorm1d
            m = bn(shape[0], eps=layer.get("eps", 1e-5), momentum=layer.get("momentum", 0.1))
        elif kind == "maxpool2d":
            m = nn.MaxPool2d(layer["kernel"], layer.get("stride", layer["kernel"]), layer.get("padding", 0))
        elif kind == "avgpool2d":
            m = nn.AvgPool2d(layer["kernel"], layer.get("stride", layer["kernel"]), layer.get("padding", 0))
        elif kind == "global_avgpool":
            m = GlobalAvgPool()
        elif kind == "flatten":
            m = nn.Flatten()
        elif kind == "dropout":
            m = nn.Dropout(0.0)
        else:
            takes_alpha = kind in ("leaky_relu", "elu") and "alpha" in layer
            m = ACTIVATIONS[kind](layer["alpha"]) if takes_alpha else ACTIVATIONS[kind]()
        modules[name] = m
        with torch.no_grad():  # track the per-sample shape
            shape = list(m(torch.zeros([2] + shape)).shape[1:])
    return nn.Sequential(modules)


class BasicBlock(nn.Module):  # torchvision's, with frugal's 1x1-conv+BN projection where needed
    expansion = 1

    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = projection(inplanes, planes, stride)

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):  # torchvision v1.5: stride on the 3x3 conv
    expansion = 4

    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = projection(inplanes, planes * 4, stride)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn3(self.conv3(F.relu(self.bn2(self.conv2(y)))))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


def projection(inplanes, outplanes, stride):
    if stride == 1 and inplanes == outplanes:
        return None
    return nn.Sequential(nn.Conv2d(inplanes, outplanes, 1, stride, bias=False), nn.BatchNorm2d(outplanes))


class ResNet(nn.Module):
    """CIFAR ResNet (3 stages from `width`, 3x3 stem) and torchvision resnet18/34/50 (4 stages from 64)."""

    def __init__(self, block, blocks, width, classes, in_channels, imagenet_stem):
        super().__init__()
        self.conv1 = (nn.Conv2d(in_channels, width, 7, 2, 3, bias=False) if imagenet_stem
                      else nn.Conv2d(in_channels, width, 3, 1, 1, bias=False))
        self.bn1 = nn.BatchNorm2d(width)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if imagenet_stem else nn.Identity()
        inplanes = width
        for stage, n in enumerate(blocks):
            planes = width << stage
            layer = []
            for i in range(n):
                layer.append(block(inplanes, planes, 2 if stage > 0 and i == 0 else 1))
                inplanes = planes * block.expansion
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layer))
        self.stages = len(blocks)
        self.fc = nn.Linear(inplanes, classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        for stage in range(self.stages):
            x = getattr(self, f"layer{stage + 1}")(x)
        return self.fc(x.mean(dim=(2, 3)))


class PreActBottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        if stride != 1 or inplanes != planes * 4:
            self.shortcut = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False))

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        shortcut = self.shortcut(pre) if hasattr(self, "shortcut") else x
        y = self.conv2(F.relu(self.bn2(self.conv1(pre))))
        return self.conv3(F.relu(self.bn3(y))) + shortcut


class PreActResNet(nn.Module):
    def __init__(self, n, width, classes, in_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        inplanes = width
        for stage in range(3):
            planes, layer = width << stage, []
            for i in range(n):
                layer.append(PreActBottleneck(inplanes, planes, 2 if stage > 0 and i == 0 else 1))
                inplanes = planes * 4
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layer))
        self.bn = nn.BatchNorm2d(inplanes)
        self.fc = nn.Linear(inplanes, classes)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.conv1(x))))
        return self.fc(F.relu(self.bn(x)).mean(dim=(2, 3)))


VGG_FEATURES = {"vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
                "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]}


class Vgg(nn.Module):  # torchvision's vgg*_bn; 512-wide classifier below 224x224 inputs (see vgg.cpp)
    def __init__(self, arch, shape, classes):
        super().__init__()
        layers, c = [], shape[0]
        for v in VGG_FEATURES[arch]:
            layers += ([nn.MaxPool2d(2, 2)] if v == "M"
                       else [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU()])
            c = c if v == "M" else v
        self.features = nn.Sequential(*layers)
        h, w = shape[1] // 32, shape[2] // 32
        hidden = 4096 if shape[1:] == [224, 224] else 512
        self.classifier = nn.Sequential(nn.Linear(512 * h * w, hidden), nn.ReLU(), nn.Dropout(0.0),
                                        nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(0.0),
                                        nn.Linear(hidden, classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def build_torch_model(model, shape, classes):
    arch = model["arch"]
    if arch == "mlp":
        return mlp(model, shape, classes)
    if arch == "cnn":
        return cnn(model, shape, classes)
    if arch == "sequential":
        return sequential(model, shape, classes)
    if arch == "resnet":
        n = (model.get("depth", 20) - 2) // 6
        return ResNet(BasicBlock, [n] * 3, model.get("width", 16), classes, shape[0], False)
    if arch == "preact_resnet":
        return PreActResNet((model.get("depth", 20) - 2) // 9, model.get("width", 16), classes, shape[0])
    if arch in ("resnet18", "resnet34", "resnet50"):
        block = Bottleneck if arch == "resnet50" else BasicBlock
        blocks = [2, 2, 2, 2] if arch == "resnet18" else [3, 4, 6, 3]
        return ResNet(block, blocks, 64, classes, shape[0], not model.get("cifar_stem", True))
    if arch in VGG_FEATURES:
        return Vgg(arch, shape, classes)
    sys.exit(f"model.arch '{arch}' has no PyTorch equivalent in this script")
