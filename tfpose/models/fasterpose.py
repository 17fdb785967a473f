"""FasterPose: heatmaps from a low-resolution representation (Dai, Shi, Liu, Wang, Liu & Mei,
"FasterPose: A Faster Simple Baseline for Human Pose Estimation", arXiv 2107.03215 / ACM TOMM 2022).

What the paper states (abstract; its body and code were not available): high-resolution (HR)
representations cost much and add little accuracy over low-resolution (LR) ones; FasterPose
predicts the heatmaps from LR features, trains sigmoid outputs with the regressive cross-entropy
(RCE) loss and so keeps sub-pixel accuracy; it cuts 58% of the FLOPs of the "previously dominant
network" (SimpleBaseline ResNet-50, 8.9 GFLOPs at 256x192) and gains 1.3 AP.

Our design (choices, argued from those facts; all configurable):

* **Backbone: ResNet-50** (v1.5, as SimpleBaseline), so the comparison is like for like. The
  arithmetic backs it: in the papers' own convention (``convention_macs(model, "hrnet")`` of
  :mod:`tfpose.models.summary`) SimpleBaseline-R50 costs 9.65e9 MACs, of which the ResNet-50
  backbone is 4.00e9
  (41.5%). A 58% cut leaves 4.05e9: the backbone plus a head of about 0.05e9 MACs. So FasterPose
  keeps the whole ResNet-50 and drops the three deconvolutions: no upsampling head at all.
* **Head on C5 (1/32):** 1x1 conv to ``head_width`` + BN + ReLU, then a ``head_kernel`` conv +
  BN + ReLU (at 8x6 cells a 3x3 costs 28M MACs and lets each cell see its neighbours, which carry
  the tails of Gaussians centred near a cell border), then a 1x1 conv to ``K * r^2`` logits.
* **Output stride 8 by sub-pixel convolution:** the ``K * r^2`` logits of each 1/32 cell are
  rearranged (depth-to-space, ``r = 32 / output_stride``) into an ``r x r`` block of heatmap
  pixels. No feature is ever computed above 1/32: the heatmap is a reshaped LR prediction, not an
  HR representation. It costs ``r^2`` times the last 1x1 conv (3.3M MACs at r = 4), far less
  than feature upsampling; ``output_stride=32`` predicts the 8x6 map directly. Stride 8 (32x24
  heatmaps at 256x192) is the default: the codec's encode -> DARK-decode round trip (the AP of a
  perfect model, :func:`~tfpose.evaluation.codec_check.codec_check`) keeps AP 1.000 at 1/8 with
  sigma 1 (8 input pixels, as SimpleBaseline's sigma 2 at 1/4), but drops to 0.866 at 1/32
  (measured on the 86 persons of the COCO mini-train sample), where a Gaussian covers too few
  heatmap pixels for sub-pixel decoding.
* **Sigmoid logits:** the last conv's bias starts at ``logit(head_prior)`` (0.01, about the mean
  target value at 1/8, so -4.6), the usual start of a sigmoid / cross-entropy dense head: the
  first steps then do not spend themselves pushing 99% of the pixels towards 0.
* **The initial bias follows the loss** (``output``, :func:`initial_head_bias`): -4.6 suits
  sigmoid outputs trained with RCE (``output="sigmoid"``, the default). The same outputs trained
  as plain heatmaps with MSE (``output="gaussian"``, the ablation) are read linearly, where -4.6
  would start every pixel 4.6 below targets in [0, 1] and the first steps would go to undoing
  it; they start at 0, as SimpleBaseline's and HRNet's final convs do (the MSE-optimal constant,
  the mean target, is about 0.01).

Cost against SimpleBaseline-R50, both at 256x192 with 17 keypoints, in two counts
(:mod:`tfpose.models.summary`; ``tests/models/test_fasterpose.py`` computes both from the two
models):

* the papers' convention (``convention_macs(model, "hrnet")``: HRNet's and SimpleBaseline's
  counter, which costs a stride-2 transposed conv at its output positions, 4x its real MACs):
  4.061e9 paper-convention MACs, 0.421x SimpleBaseline-R50 (-57.9%; the paper: -58%);
* real multiply-accumulates (``model_summary(model)["macs"]``, every conv once per position it
  really computes): 0.748x (-25%). Most of what the papers' convention removes is the
  over-counted deconvolutions of SimpleBaseline's head.

24.7M trainable parameters (SimpleBaseline: 34.0M).

Input: ``[B, H, W, 3]`` RGB in [0, 255] (normalised in the graph), H and W multiples of 32;
output: ``[B, H/s, W/s, K]`` float32 logits, ``s = output_stride``. Decode with
``HeatmapCodec(output="sigmoid", heatmap_size=(H // s, W // s), sigma=1.0)``; train with RCE
(sigmoid cross-entropy against the codec's Gaussian targets).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf

from tfpose.layers.common import DepthToSpace, check_input_size, image_input, model_builder
from tfpose.layers.resnet_blocks import check_depth, conv_bn, resnet_backbone

layers = tf.keras.layers

OUTPUT_STRIDES = (4, 8, 16, 32)  # r = 32 / stride sub-pixels per C5 cell and side
OUTPUTS = ("sigmoid", "gaussian")  # the codec's names: logits for RCE, heatmaps for MSE


@dataclass(frozen=True)
class FasterPoseConfig:
    depth: int = 50  # ResNet depth: 50 compares like for like with SimpleBaseline-R50
    output_stride: int = 8  # heatmap = input / 8: 32x24 at 256x192
    head_width: int = 256  # channels of the head's hidden convs at 1/32
    head_kernel: int = 3  # the second head conv; 1 makes every C5 cell independent
    head_prior: float = 0.01  # initial sigmoid output, about the mean target value at 1/8
    stride_in_1x1: bool = False  # True: ResNet v1; False: v1.5, as SimpleBaseline's code
    # What the logits are trained as: "sigmoid" (RCE) or "gaussian" (read linearly, MSE). It
    # sets the initial bias of the last conv (initial_head_bias), nothing else.
    output: str = "sigmoid"

    @property
    def upscale(self) -> int:
        return 32 // self.output_stride


def _check(config: FasterPoseConfig) -> None:
    check_depth(config.depth)
    if config.output_stride not in OUTPUT_STRIDES:
        raise ValueError(f"output_stride must be one of {OUTPUT_STRIDES}, "
                         f"got {config.output_stride!r}")
    if config.head_width < 1 or config.head_kernel < 1 or config.head_kernel % 2 == 0:
        raise ValueError("head_width must be positive and head_kernel a positive odd size, got "
                         f"{config.head_width} and {config.head_kernel}")
    if not 0.0 < config.head_prior < 1.0:
        raise ValueError(f"head_prior must lie in (0, 1), got {config.head_prior}")
    if config.output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {config.output!r}")


def initial_head_bias(config: FasterPoseConfig) -> float:
    """The last conv's initial bias: ``logit(head_prior)`` for sigmoid outputs (RCE), 0 for
    outputs regressed linearly as Gaussian heatmaps (MSE)."""
    if config.output == "gaussian":
        return 0.0
    return math.log(config.head_prior / (1.0 - config.head_prior))


def lr_heatmap_head(x, num_keypoints: int, config: FasterPoseConfig):
    """Logits ``[B, h * r, w * r, K]`` predicted from LR features ``[B, h, w, C]``."""
    x = conv_bn(x, config.head_width, 1, name="head1")
    x = conv_bn(x, config.head_width, config.head_kernel, name="head2")
    r = config.upscale
    logits = layers.Conv2D(
        num_keypoints * r * r, 1, name="head", dtype="float32",
        bias_initializer=tf.keras.initializers.Constant(initial_head_bias(config)))(x)
    if r == 1:
        return logits
    return DepthToSpace(r, name="head_to_space", dtype="float32")(logits)


@model_builder
def build_fasterpose(config: FasterPoseConfig, *, input_size, num_keypoints: int,
                     name: str) -> tf.keras.Model:
    _check(config)
    input_size = check_input_size(input_size, 32, name)  # the backbone halves five times
    inputs, x = image_input(input_size)
    c5 = resnet_backbone(x, config.depth, stride_in_1x1=config.stride_in_1x1)["c5"]
    return tf.keras.Model(inputs, lr_heatmap_head(c5, num_keypoints, config), name=name)


def fasterpose(*, input_size=(256, 192), num_keypoints: int = 17, output_stride: int = 8,
               **overrides) -> tf.keras.Model:
    """FasterPose: ResNet-50 + a light head on its 1/32 features, sigmoid heatmap logits.

    Args:
      input_size: ``(H, W)``, multiples of 32.
      num_keypoints: K.
      output_stride: heatmap stride, one of 4, 8, 16, 32 (see the module docstring).
      **overrides: :class:`FasterPoseConfig` fields (``depth``, ``head_width``,
        ``head_kernel``, ``head_prior``, ``stride_in_1x1``, ``output``: ``"gaussian"`` starts
        the head's bias at 0 for MSE training instead of at the sigmoid prior).

    Returns:
      An untrained ``tf.keras.Model`` mapping ``[B, H, W, 3]`` RGB in [0, 255] to
      ``[B, H/s, W/s, K]`` float32 logits for ``HeatmapCodec(output="sigmoid")`` (heatmaps for
      ``HeatmapCodec(output="gaussian")`` with ``output="gaussian"``).
    """
    config = FasterPoseConfig(output_stride=output_stride, **overrides)
    suffix = "" if config.depth == 50 else f"_r{config.depth}"
    return build_fasterpose(config, input_size=input_size, num_keypoints=num_keypoints,
                            name=f"fasterpose{suffix}")
