"""Reference implementations our models must equal, under their authors' ``state_dict`` names.

From packages: timm's HRNet (the HRNet authors' backbone, module for module) and torchvision's
ResNet. Written here from the published descriptions (``../shared/REFERENCE.md``), because no
package ships them: the pose heads (HRNet's 1x1 ``final_layer``, SimpleBaseline's
``deconv_layers`` + ``final_layer``) and LitePose (mit-han-lab/litepose's ``LitePose`` module
names). Only the tests import this module; it needs the ``reference`` extra.
"""

import os

import numpy as np
import pytest

REQUIRED = os.environ.get("TFPOSE_REQUIRE_REFERENCE") == "1"  # CI sets it: no silent skips
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def reference_packages():
    """``(torch, timm, torchvision)``, or skip the module saying why (fail under CI)."""
    try:
        import timm
        import torch
        import torchvision
    except ImportError as e:
        message = (f"the reference implementations need PyTorch, timm and torchvision "
                   f"(pip install -e \".[reference]\"): {e}")
        if REQUIRED:
            pytest.fail(message, pytrace=False)
        pytest.skip(message, allow_module_level=True)
    return torch, timm, torchvision


torch, timm, torchvision = reference_packages()
nn = torch.nn


def calibrate(net, input_size, seed=0):
    """Random BatchNorm scales and shifts, and running statistics measured on a random batch,
    so that activations keep a sensible range through a deep untrained network (random running
    statistics make them explode and every difference look small)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.2)
                module.momentum = None  # running statistics = this batch's
        net.train()
        net(torch.randn(4, 3, *input_size))
    return net.eval()


def torch_input(images: np.ndarray, channel_order: str = "rgb"):
    """The references' preprocessing of ``[B, H, W, 3]`` RGB images in [0, 255]: channels in
    ``channel_order``, / 255, ImageNet mean and std per channel position, NCHW."""
    x = images[..., ::-1] if channel_order == "bgr" else images
    x = (x / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2), np.float32))


def run(net, x) -> list[np.ndarray]:
    """The outputs of ``net`` on ``x`` as NHWC arrays."""
    with torch.no_grad():
        out = net(x)
    return [o.numpy().transpose(0, 2, 3, 1) for o in (out if isinstance(out, list) else [out])]


def relative_difference(ours, reference) -> float:
    """The largest ``|ours - reference|`` over all outputs, as a fraction of each reference
    output's range (the equality bound is 1e-4 of it)."""
    worst = 0.0
    for mine, theirs in zip(ours, reference, strict=True):
        assert mine.shape == theirs.shape, (mine.shape, theirs.shape)
        assert np.ptp(theirs) > 0, "a constant reference output proves nothing"
        worst = max(worst, float(np.abs(mine - theirs).max() / np.ptp(theirs)))
    return worst


# ---- HRNet -------------------------------------------------------------------------------------
IMAGENET_ONLY = ("incre_modules.", "downsamp_modules.", "final_layer.", "classifier.")


class PoseHRNet(nn.Module):
    """The authors' pose HRNet: timm's HRNet backbone (the same modules under the same names)
    and a 1x1 ``final_layer`` on the highest-resolution branch of stage 4."""

    def __init__(self, width: int, num_keypoints: int = 17):
        super().__init__()
        self.backbone = timm.create_model(f"hrnet_w{width}", pretrained=False)
        self.final_layer = nn.Conv2d(width, num_keypoints, 1)

    def stem(self, x):
        b = self.backbone
        return b.act2(b.bn2(b.conv2(b.act1(b.bn1(b.conv1(x))))))

    def forward(self, x):
        return self.final_layer(self.backbone.stages(self.stem(x))[0])

    def pose_state_dict(self) -> dict:
        """The authors' checkpoint: no classifier, and the last module fuses into branch 0
        only (its other fusions feed timm's classifier)."""
        last = f"stage4.{len(self.backbone.stage4) - 1}.fuse_layers."
        state = {k: v for k, v in self.backbone.state_dict().items()
                 if not k.startswith(IMAGENET_ONLY)
                 and not k.startswith(tuple(f"{last}{i}." for i in (1, 2, 3)))}
        state.update({f"final_layer.{k}": v for k, v in self.final_layer.state_dict().items()})
        return state


# ---- SimpleBaseline ----------------------------------------------------------------------------
class SimpleBaseline(nn.Module):
    """The SimpleBaseline authors' ``pose_resnet``: torchvision's ResNet, three ``ConvTranspose2d
    (k=4, s=2, p=1)`` + BN + ReLU in ``deconv_layers``, a 1x1 ``final_layer``."""

    def __init__(self, depth: int = 50, num_keypoints: int = 17, filters: int = 256):
        super().__init__()
        self.backbone = getattr(torchvision.models, f"resnet{depth}")()
        layers, channels = [], 2048
        for _ in range(3):
            layers += [nn.ConvTranspose2d(channels, filters, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(filters), nn.ReLU()]
            channels = filters
        self.deconv_layers = nn.Sequential(*layers)
        self.final_layer = nn.Conv2d(filters, num_keypoints, 1)

    def features(self, x):
        b = self.backbone
        x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        return b.layer4(b.layer3(b.layer2(b.layer1(x))))

    def forward(self, x):
        return self.final_layer(self.deconv_layers(self.features(x)))

    def pose_state_dict(self) -> dict:
        state = {k: v for k, v in self.backbone.state_dict().items() if not k.startswith("fc.")}
        for name in ("deconv_layers", "final_layer"):
            state.update({f"{name}.{k}": v for k, v in getattr(self, name).state_dict().items()})
        return state


# ---- LitePose ----------------------------------------------------------------------------------
def _conv_bn_relu6(channels_in, channels_out, kernel, stride, groups=1):
    return nn.Sequential(nn.Conv2d(channels_in, channels_out, kernel, stride, kernel // 2,
                                   groups=groups, bias=False),
                         nn.BatchNorm2d(channels_out), nn.ReLU6())


class InvertedBottleneck(nn.Module):
    """``inv`` (1x1 expand), ``depth_conv`` (k x k depthwise), ``point_conv`` (1x1 + BN)."""

    def __init__(self, channels_in, channels_out, stride, kernel=7, expansion=6):
        from tfpose.layers.mobile_blocks import make_divisible  # the published rounding rule

        super().__init__()
        mid = make_divisible(round(channels_in * expansion))
        self.inv = _conv_bn_relu6(channels_in, mid, 1, 1)
        self.depth_conv = _conv_bn_relu6(mid, mid, kernel, stride, groups=mid)
        self.point_conv = nn.Sequential(nn.Conv2d(mid, channels_out, 1, bias=False),
                                        nn.BatchNorm2d(channels_out))
        self.residual = stride == 1 and channels_in == channels_out

    def forward(self, x):
        y = self.point_conv(self.depth_conv(self.inv(x)))
        return x + y if self.residual else y


class SeparablePrediction(nn.Module):
    """``conv``: depthwise 5x5, BN, ReLU, 1x1 (no bias)."""

    def __init__(self, channels_in, channels_out):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(channels_in, channels_in, 5, 1, 2, groups=channels_in, bias=False),
            nn.BatchNorm2d(channels_in), nn.ReLU(), nn.Conv2d(channels_in, channels_out, 1,
                                                               bias=False))

    def forward(self, x):
        return self.conv(x)


class LitePose(nn.Module):
    """LitePose as its paper and code describe it, under the code's module names: ``first``
    (stem), ``stage`` (inverted bottlenecks), ``deconv_refined`` / ``deconv_raw`` /
    ``deconv_bnrelu`` (the fusion deconv head), ``final_refined`` / ``final_raw``."""

    def __init__(self, config, num_keypoints: int = 17):
        super().__init__()
        self.first = nn.Sequential(_conv_bn_relu6(3, 32, 3, 2), _conv_bn_relu6(32, 32, 3, 1, 32),
                                   nn.Conv2d(32, config.stem_width, 1, bias=False),
                                   nn.BatchNorm2d(config.stem_width))
        channels, stages, previous = [config.stem_width], [], config.stem_width
        for width, blocks, stride in zip(config.stage_channels, config.stage_blocks,
                                         config.stage_strides, strict=True):
            stages.append(nn.Sequential(*[
                InvertedBottleneck(previous if b == 0 else width, width,
                                   stride if b == 0 else 1, config.kernel_size)
                for b in range(blocks)]))
            previous = width
            channels.append(width)
        self.stage = nn.ModuleList(stages)
        filters = config.deconv_filters
        self.deconv_refined = nn.ModuleList([
            nn.ConvTranspose2d(channels[-1] if i == 0 else filters[i - 1], filters[i], 4, 2, 1,
                               bias=False) for i in range(3)])
        self.deconv_raw = nn.ModuleList([
            nn.ConvTranspose2d(channels[-i - 2], filters[i], 4, 2, 1, bias=False)
            for i in range(3)])
        self.deconv_bnrelu = nn.ModuleList([nn.Sequential(nn.BatchNorm2d(f), nn.ReLU())
                                            for f in filters])
        outputs = (2 * num_keypoints, num_keypoints)  # heatmaps + tags at 1/4, heatmaps at 1/2
        self.final_refined = nn.ModuleList([SeparablePrediction(filters[i], outputs[i - 1])
                                            for i in (1, 2)])
        self.final_raw = nn.ModuleList([SeparablePrediction(channels[-i - 3], outputs[i - 1])
                                        for i in (1, 2)])

    def forward(self, x):
        features = [self.first(x)]
        for stage in self.stage:
            features.append(stage(features[-1]))
        refined, raw, outputs = features[-1], features[-2], []
        for i in range(3):
            refined = self.deconv_bnrelu[i](self.deconv_refined[i](refined)
                                            + self.deconv_raw[i](raw))
            raw = features[-i - 3]
            if i > 0:
                outputs.append(self.final_refined[i - 1](refined) + self.final_raw[i - 1](raw))
        return outputs
