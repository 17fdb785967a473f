"""Checkpoint layouts: who wrote a state dict, recognised from its key names, and its keys put
into the reference names (:mod:`tfpose.weights.keymaps`).

* ``hrnet``: the HRNet authors' pose checkpoints (deep-high-resolution-net.pytorch
  ``pose_hrnet``): ``conv1``, ``transition1``, ``final_layer.weight``; fills HRNet, head included.
* ``simplebaseline``: the SimpleBaseline authors' pose checkpoints (human-pose-estimation.pytorch,
  and ``pose_resnet`` of deep-high-resolution-net.pytorch): ``conv1``, ``layer1``,
  ``deconv_layers``; fills SimpleBaseline, head included.
* ``mmpose-0.x`` / ``mmpose-1.x``: the same networks trained by mmpose, their names under
  ``backbone.`` and ``keypoint_head.`` (0.x) or ``head.`` (1.x).
* ``litepose``: the LitePose authors' checkpoints (mit-han-lab/litepose): ``first.0.0``,
  ``stage.0.0.inv``; fills LitePose, head included.
* ``hrnet-imagenet``: an ImageNet HRNet (timm ``hrnet_w*``, HRNet-Image-Classification):
  ``transition1`` with ``incre_modules`` / ``classifier``; fills HRNet's stem and stages.
* ``resnet-imagenet``: an ImageNet ResNet (torchvision): ``conv1``, ``layer1``, ``fc``; fills a
  ResNet backbone.
* ``keras-applications``: ``tf.keras.applications`` ResNet50/101/152 weights (``.h5``):
  ``conv1_conv/kernel``; fills a ResNet v1 backbone (``stride_in_1x1``).

Each layout also says how its network reads images (:class:`InputConvention`): the HRNet
authors, mmpose, timm, torchvision and LitePose feed RGB / 255 normalised by ImageNet's mean and
std; the SimpleBaseline configs (``COLOR_RGB: false``) feed OpenCV's BGR images with the same
RGB statistics; ``tf.keras.applications`` ResNets feed BGR minus Caffe's mean, unscaled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np

from tfpose.errors import DataError
from tfpose.layers.common import RGB_MEAN, RGB_STD

# tf.keras.applications ResNets use BatchNormalization(epsilon=1.001e-5); ours (and PyTorch's)
# use 1e-5, so the difference moves into the variance.
KERAS_APPLICATIONS_BN_EPSILON = 1.001e-5
OUR_BN_EPSILON = 1e-5
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)


@dataclass(frozen=True)
class InputConvention:
    """How a network's first conv reads an image in [0, 255].

    ``channel_order`` "bgr": the weights were trained on OpenCV's BGR arrays. ``mean`` and
    ``std`` apply per channel *in that order* (the SimpleBaseline configs normalise BGR arrays
    with ImageNet's RGB statistics, channel by channel).
    """

    channel_order: str = "rgb"
    mean: tuple[float, float, float] = RGB_MEAN
    std: tuple[float, float, float] = RGB_STD

    def for_rgb_input(self) -> tuple[tuple, tuple]:
        """``(mean, std)`` per RGB channel for a model whose first conv reads its channels in
        ``channel_order`` once its input channels are reversed (see :func:`~tfpose.weights.
        transfer.reverse_input_channels`)."""
        if self.channel_order == "bgr":
            return tuple(reversed(self.mean)), tuple(reversed(self.std))
        return self.mean, self.std


IMAGENET_RGB = InputConvention()
IMAGENET_STATS_ON_BGR = InputConvention("bgr")
CAFFE_BGR = InputConvention("bgr", CAFFE_BGR_MEAN, (1.0, 1.0, 1.0))


@dataclass(frozen=True)
class Layout:
    """One way a checkpoint names and lays out its tensors (module table).

    Attributes:
      name: short id (``hrnet``, ``mmpose-1.x``...).
      source: who writes it, for messages.
      architecture: ``hrnet``, ``simplebaseline``, ``litepose`` (whole pose networks) or
        ``resnet`` (a backbone).
      whole: the checkpoint holds the pose head too; otherwise it initialises the backbone and
        the head stays as initialised.
      input: how its network reads images.
      unused: key prefixes it holds that no pose network uses (ImageNet classifiers), left on
        purpose.
      model_options: options of our model these weights need (ResNet v1 for Keras' ResNets).
    """

    name: str
    source: str
    architecture: str
    whole: bool
    input: InputConvention = IMAGENET_RGB
    unused: tuple[str, ...] = ()
    model_options: dict = field(default_factory=dict)


HRNET = Layout("hrnet", "the HRNet authors' pose checkpoint (deep-high-resolution-net.pytorch)",
               "hrnet", whole=True)
SIMPLE_BASELINE = Layout(
    "simplebaseline", "the SimpleBaseline authors' pose checkpoint (human-pose-estimation."
    "pytorch / deep-high-resolution-net.pytorch pose_resnet, trained on BGR images)",
    "simplebaseline", whole=True, input=IMAGENET_STATS_ON_BGR)
LITEPOSE = Layout("litepose", "the LitePose authors' checkpoint (mit-han-lab/litepose)",
                  "litepose", whole=True)
HRNET_IMAGENET = Layout(
    "hrnet-imagenet", "an ImageNet HRNet (timm hrnet_w* / HRNet-Image-Classification)", "hrnet",
    whole=False, unused=("incre_modules.", "downsamp_modules.", "final_layer.", "classifier."))
RESNET_IMAGENET = Layout("resnet-imagenet", "an ImageNet ResNet (torchvision)", "resnet",
                         whole=False, unused=("fc.",))
KERAS_RESNET = Layout(
    "keras-applications", "an ImageNet ResNet v1 of tf.keras.applications (Caffe BGR input)",
    "resnet", whole=False, input=CAFFE_BGR, unused=("fc.",),
    model_options={"stride_in_1x1": True})
MMPOSE_HEADS = {"keypoint_head.": "mmpose-0.x", "head.": "mmpose-1.x"}


def recognise(state: dict[str, np.ndarray], source) -> tuple[Layout, dict[str, np.ndarray]]:
    """The layout of ``state`` and its tensors under the reference names (module table).

    Raises :class:`~tfpose.errors.DataError` naming ``source`` when no layout matches.
    """
    if any(re.fullmatch(r"conv\d_(block\d+_\d_)?(conv|bn)/\w+", key) for key in state):
        return KERAS_RESNET, _from_keras_applications(state)
    if any(key.startswith("backbone.") for key in state):
        return _mmpose(state, source)
    layout = _pytorch_layout(state)
    if layout is None:
        raise DataError(source, f"its keys match no checkpoint layout tfpose reads (first keys: "
                        f"{', '.join(list(state)[:4])}); see tfpose.weights.layouts")
    if layout is HRNET_IMAGENET:
        layout = replace(layout, unused=layout.unused + _multi_scale_fusions(state))
    return layout, state


def _pytorch_layout(state) -> Layout | None:
    if "first.0.0.weight" in state and any(k.startswith("stage.0.0.inv.") for k in state):
        return LITEPOSE
    has = {prefix for prefix in ("transition1.", "incre_modules.", "classifier.",
                                 "final_layer.weight", "layer1.", "deconv_layers.", "fc.")
           if any(key.startswith(prefix) for key in state)}
    if "conv1.weight" not in state or "layer1." not in has:
        return None
    if "transition1." in has:
        if has & {"incre_modules.", "classifier."} or "final_layer.weight" not in has:
            return HRNET_IMAGENET
        return HRNET
    if "deconv_layers." in has:
        return SIMPLE_BASELINE
    return RESNET_IMAGENET


def _mmpose(state, source) -> tuple[Layout, dict]:
    """mmpose: the authors' names under ``backbone.`` and ``keypoint_head.`` (0.x) / ``head.``
    (1.x); its images are RGB with ImageNet statistics."""
    canonical, versions = {}, set()
    for key, value in state.items():
        for prefix in ("backbone.", *MMPOSE_HEADS):
            if key.startswith(prefix):
                versions.add(MMPOSE_HEADS.get(prefix))
                key = key[len(prefix):]
                break
        canonical[key] = value
    versions.discard(None)
    layout = _pytorch_layout(canonical)
    if layout not in (HRNET, SIMPLE_BASELINE) or len(versions) > 1:
        raise DataError(source, "an mmpose checkpoint of a network tfpose does not hold (it "
                        "reads mmpose's HRNet and SimpleBaseline top-down heatmap models)")
    name = versions.pop() if versions else "mmpose"
    return replace(layout, name=name, source=f"an {name} {layout.architecture} checkpoint",
                   input=IMAGENET_RGB), canonical


def _multi_scale_fusions(state) -> tuple[str, ...]:
    """An ImageNet HRNet's last module fuses into every branch (its classifier reads all four);
    the pose network's fuses into the highest resolution only, so the other fusions are
    left on purpose."""
    modules = {int(m[1]) for key in state if (m := re.match(r"stage4\.(\d+)\.", key))}
    if not modules:
        return ()
    last = max(modules)
    return tuple(f"stage4.{last}.fuse_layers.{i}." for i in (1, 2, 3))


def _from_keras_applications(state) -> dict[str, np.ndarray]:
    """``tf.keras.applications`` ResNet weights under torchvision's names and layouts: kernels
    as ``[out, in, kh, kw]``, conv biases folded into the BatchNorm after them (``BN(conv(x) +
    b)`` is ``BN'(conv(x))`` with the running mean moved by ``b``), BN epsilon moved into the
    variance."""
    canonical = {}
    for key, value in state.items():
        layer, _, variable = key.partition("/")
        if layer == "predictions":
            canonical[f"fc.{'weight' if variable == 'kernel' else 'bias'}"] = value.T
            continue
        m = re.fullmatch(r"conv(\d)_(?:block(\d+)_(\d)_)?(conv|bn)", layer)
        if m is None:
            canonical[key] = value  # unknown: reported as left over
            continue
        stage, block, index, kind = m.groups()
        name = _keras_resnet_name(stage, block, index, kind)
        if kind == "conv":
            if variable == "kernel":
                canonical[f"{name}.weight"] = np.transpose(value, (3, 2, 0, 1))
            continue  # the bias goes into the BatchNorm below
        bias = state.get(f"{layer[:-2]}conv/bias")
        bn_name = _keras_resnet_name(stage, block, index, "bn")
        canonical.update(_keras_batch_norm(bn_name, variable, value, bias))
    return canonical


def _keras_resnet_name(stage, block, index, kind) -> str:
    if block is None:  # the stem: conv1_conv, conv1_bn
        return f"{kind}1"
    base = f"layer{int(stage) - 1}.{int(block) - 1}"
    if index == "0":  # the projection shortcut
        return f"{base}.downsample.{0 if kind == 'conv' else 1}"
    return f"{base}.{kind}{index}"


def _keras_batch_norm(name, variable, value, conv_bias) -> dict:
    if variable == "gamma":
        return {f"{name}.weight": value}
    if variable == "beta":
        return {f"{name}.bias": value}
    if variable == "moving_mean":
        return {f"{name}.running_mean": value - (0 if conv_bias is None else conv_bias)}
    if variable == "moving_variance":
        return {f"{name}.running_var": value + KERAS_APPLICATIONS_BN_EPSILON - OUR_BN_EPSILON}
    return {f"{name}.{variable}": value}
