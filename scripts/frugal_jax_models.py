"""JAX (pure jax.numpy/lax, no Flax) equivalents of frugal's benchmark architectures, for
scripts/bench/vs_peers.py: the MLP, the Fashion-MNIST CNN, the CIFAR ResNets (resnet, depth 6n+2) and
ResNet-18 with the CIFAR stem, as in scripts/frugal_torch_models.py (the PyTorch twins, whose parameter
counts the harness checks these against).

build_jax_model(model_section, sample_shape [C, H, W], classes, key) returns (params, state, apply) with
apply(params, state, x_nhwc, train) -> (logits, new_state). Activations are NHWC, the layout XLA's CPU
convolutions prefer (the peer runs at its best, not in frugal's layout). BatchNorm in training mode
normalises with the batch statistics (biased variance) and updates running statistics with momentum
0.1 and the unbiased variance, as torch.nn.BatchNorm2d does.
"""
import math
import sys

import jax
import jax.numpy as jnp
from jax import lax

BN_EPS, BN_MOMENTUM = 1e-5, 0.1


class Builder:
    """Collects parameters and BatchNorm state under unique names, drawing keys in a fixed order."""

    def __init__(self, key):
        self.key, self.params, self.state = key, {}, {}

    def _next(self):
        self.key, sub = jax.random.split(self.key)
        return sub

    def conv(self, name, cin, cout, k, bias):  # kaiming-uniform like torch's default
        bound = 1.0 / math.sqrt(cin * k * k)
        self.params[name + ".w"] = jax.random.uniform(self._next(), (k, k, cin, cout), jnp.float32, -bound, bound)
        if bias:
            self.params[name + ".b"] = jax.random.uniform(self._next(), (cout,), jnp.float32, -bound, bound)

    def linear(self, name, fin, fout):
        bound = 1.0 / math.sqrt(fin)
        self.params[name + ".w"] = jax.random.uniform(self._next(), (fin, fout), jnp.float32, -bound, bound)
        self.params[name + ".b"] = jax.random.uniform(self._next(), (fout,), jnp.float32, -bound, bound)

    def bn(self, name, c):
        self.params[name + ".gamma"] = jnp.ones((c,), jnp.float32)
        self.params[name + ".beta"] = jnp.zeros((c,), jnp.float32)
        self.state[name + ".mean"] = jnp.zeros((c,), jnp.float32)
        self.state[name + ".var"] = jnp.ones((c,), jnp.float32)


def conv(p, name, x, stride=1, padding=1):
    y = lax.conv_general_dilated(x, p[name + ".w"], (stride, stride), [(padding, padding)] * 2,
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + p[name + ".b"] if name + ".b" in p else y


def batchnorm(p, s, new_s, name, x, train):
    axes = tuple(range(x.ndim - 1))
    if train:
        mean, var = jnp.mean(x, axes), jnp.var(x, axes)
        n = x.size // x.shape[-1]
        new_s[name + ".mean"] = (1 - BN_MOMENTUM) * s[name + ".mean"] + BN_MOMENTUM * mean
        new_s[name + ".var"] = (1 - BN_MOMENTUM) * s[name + ".var"] + BN_MOMENTUM * var * n / (n - 1)
    else:
        mean, var = s[name + ".mean"], s[name + ".var"]
    return (x - mean) * lax.rsqrt(var + BN_EPS) * p[name + ".gamma"] + p[name + ".beta"]


def maxpool2(x):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def linear(p, name, x):
    return x @ p[name + ".w"] + p[name + ".b"]


def mlp_head(b, model, width, classes, prefix):
    names = []
    for i, hidden in enumerate(model.get("hidden", [256])):
        b.linear(f"{prefix}fc{i}", width, hidden)
        names.append(f"{prefix}fc{i}")
        width = hidden
    b.linear(f"{prefix}out", width, classes)

    def apply(p, x):
        x = x.reshape(x.shape[0], -1)
        for n in names:
            x = jax.nn.relu(linear(p, n, x))
        return linear(p, f"{prefix}out", x)
    return apply


def mlp(b, model, shape, classes):
    head = mlp_head(b, model, math.prod(shape), classes, "")
    return lambda p, s, x, train: (head(p, jnp.transpose(x, (0, 3, 1, 2))), s)  # flatten in CHW order


def cnn(b, model, shape, classes):
    bn = model.get("batch_norm", True)
    c, h, w = shape
    stages = []
    for i, out in enumerate(model.get("channels", [32, 64])):
        b.conv(f"conv{i}", c, out, 3, bias=not bn)
        if bn:
            b.bn(f"bn{i}", out)
        stages.append(i)
        c, h, w = out, h // 2, w // 2
    head = mlp_head(b, model, c * h * w, classes, "head.")

    def apply(p, s, x, train):
        new_s = dict(s)
        for i in stages:
            x = conv(p, f"conv{i}", x)
            if bn:
                x = batchnorm(p, s, new_s, f"bn{i}", x, train)
            x = maxpool2(jax.nn.relu(x))
        return head(p, jnp.transpose(x, (0, 3, 1, 2))), new_s
    return apply


def resnet(b, blocks, width, classes, in_channels):
    """Basic-block ResNet with a 3x3 stem: CIFAR ResNet-(6n+2) (3 stages) or ResNet-18 with CIFAR stem."""
    b.conv("stem", in_channels, width, 3, bias=False)
    b.bn("stem.bn", width)
    layout, inplanes = [], width
    for stage, n in enumerate(blocks):
        planes = width << stage
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            name = f"s{stage}b{i}"
            b.conv(name + ".conv1", inplanes, planes, 3, bias=False)
            b.bn(name + ".bn1", planes)
            b.conv(name + ".conv2", planes, planes, 3, bias=False)
            b.bn(name + ".bn2", planes)
            project = stride != 1 or inplanes != planes
            if project:
                b.conv(name + ".proj", inplanes, planes, 1, bias=False)
                b.bn(name + ".proj.bn", planes)
            layout.append((name, stride, project))
            inplanes = planes
    b.linear("fc", inplanes, classes)

    def apply(p, s, x, train):
        new_s = dict(s)
        bnorm = lambda name, v: batchnorm(p, s, new_s, name, v, train)  # noqa: E731
        x = jax.nn.relu(bnorm("stem.bn", conv(p, "stem", x)))
        for name, stride, project in layout:
            y = jax.nn.relu(bnorm(name + ".bn1", conv(p, name + ".conv1", x, stride)))
            y = bnorm(name + ".bn2", conv(p, name + ".conv2", y))
            shortcut = bnorm(name + ".proj.bn", conv(p, name + ".proj", x, stride, 0)) if project else x
            x = jax.nn.relu(y + shortcut)
        return linear(p, "fc", jnp.mean(x, axis=(1, 2))), new_s
    return apply


def build_jax_model(model, shape, classes, key):
    b, arch = Builder(key), model["arch"]
    if arch == "mlp":
        apply = mlp(b, model, shape, classes)
    elif arch == "cnn":
        apply = cnn(b, model, shape, classes)
    elif arch == "resnet":
        n = (model.get("depth", 20) - 2) // 6
        apply = resnet(b, [n] * 3, model.get("width", 16), classes, shape[0])
    elif arch == "resnet18" and model.get("cifar_stem", True):
        apply = resnet(b, [2, 2, 2, 2], 64, classes, shape[0])
    else:
        sys.exit(f"model.arch '{arch}' has no JAX equivalent in this script")
    return b.params, b.state, apply


def parameter_count(params):
    return sum(int(v.size) for v in params.values())
