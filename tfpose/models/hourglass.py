"""Binary stacked-hourglass landmark localiser (Bulat & Tzimiropoulos, ICCV 2017).

"Binarized Convolutional Landmark Localizers for Human Pose Estimation and Face Alignment with
Limited Resources": one hourglass of binary residual blocks, built from the paper's HPM block
(:func:`hourglass_hpm`) or, as its baseline, a binarised bottleneck
(:func:`hourglass_bottleneck_binary`).

Layout: NHWC RGB images in [0, 255], ``[B, H, W, 3]`` with H and W multiples of 64, in;
``[B, H/4, W/4, K]`` float32 heatmap logits out (train with sigmoid cross-entropy, decode with the
codec's sigmoid variant; the model applies no sigmoid).

Wiring (layer-name prefixes in brackets)::

    [stem]  7x7/2 float conv 64 + BN + ReLU -> block to C at H/2 -> max-pool -> pre blocks [pre]
    [hg_l0] one hourglass of depth 4: H/4 -> H/8 -> H/16 -> H/32 -> H/64 and back
    [post]  a block, then [head] float 1x1 conv C + BN + ReLU -> float 1x1 conv K [heatmaps]

What stays float, and why: the stem conv (three RGB channels carry too little to binarise and
cost little), the 1x1 shortcut of a block that changes channel count (a real-valued path is what
lets the residual stream keep information), and the head (the final prediction layers set the
heatmaps' precision; binarising them costs accuracy for almost no saving). Everything inside the
blocks is binary: 94 % of the MACs at the default width (``tfpose.models.summary``).

Options, what the paper says and what we chose:

* ``weights``: ``"scaled"`` (default) binarises each filter to +-alpha with alpha the mean
  absolute weight of that output filter, as XNOR-Net does and as the authors' binary conv
  computes it (their Torch ``bnn.SpatialConvolution``); here larq's ``MagnitudeAwareSign``, whose
  gradient skips alpha. LCE converts it to ``LceBconv2d`` with alpha folded into the op's
  per-channel output multiplier (:mod:`tfpose.layers.binary`). It matters here because the
  blocks are pre-activation: a conv's output joins the residual sum with no BatchNorm after it
  that could absorb a scale. ``"plain"`` keeps +-1 weights (the ablation). With
  ``--optimizer bop`` the binary kernels become +-1 at the first step (Bop stores signs), so
  alpha is 1 and scaled weights are plain ones: train scaled weights with Adam.
* ``relu_after_conv``: a ReLU right after every binary conv of the blocks (``BN -> sign -> conv
  -> ReLU``; :mod:`tfpose.layers.hourglass_blocks` says where it sits in the HPM block). The
  paper reports about +2 % for it; off by default, so the default is the plain block. With
  scaled weights LCE cannot fuse it into the binary op: one float ``RELU`` per binary conv
  (plain weights: fused, no extra op).
* ``stacks``: hourglasses in a row, as Newell et al.'s stacked hourglass that the paper builds
  on (its ~1.3 MB MPII model is one). Each stack ends in its own head and heatmaps; between
  stacks the next stack's input is ``input + conv1x1(features) + conv1x1(heatmaps)`` (float 1x1
  convs with bias, Newell's remaps; they cost C² + KC float MACs per H/4 pixel). The built model
  outputs the last stack's heatmaps only (what conversion, the predictor and evaluation use);
  :func:`stack_outputs` gives the same layers with every stack's heatmaps as outputs, for
  intermediate supervision (the loss on every stack, ``training/train_hourglass_hpm.py``).
  With ``stacks=1`` the layer names are those of the single hourglass above; with more, the
  stacks before the last carry the prefix ``s{i}_`` (``s0_hg_l0...``, ``s0_heatmaps``,
  ``s0_merge``), the last one none.
* ``channels``: the block width C. The paper compares its block with the bottleneck at the
  same parameter count; the HPM block has 6.19 C² binary weights per block against the
  bottleneck's 3.25 C², so the bottleneck needs about 1.38x the width. Matched settings
  (``tfpose.models.summary`` params, within 5 %, asserted by tests/models/test_hourglass.py):

  ============  =========================  =========================================
  preset        hourglass_hpm              hourglass_bottleneck_binary
  ============  =========================  =========================================
  paper         channels=256: 6,791,248    channels=352: 6,993,072 (+3.0 %)
  paper         channels=192: 3,846,336    channels=256: 3,718,416 (-3.3 %)
  small         channels=128: 1,326,256    channels=176: 1,367,584 (+3.1 %)
  ============  =========================  =========================================

  (352 and 176 are not multiples of 64: the bottleneck's 3x3 conv then reads C/2 channels that
  LCE pads to a multiple of 32, a speed cost only.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

from tfpose.layers.binary import QuantPolicy, batch_norm
from tfpose.layers.common import check_input_size, image_input, model_builder
from tfpose.layers.hourglass_blocks import binary_bottleneck_block, hpm_block

DEFAULT_WEIGHTS = "scaled"  # XNOR-Net's per-filter scale, as the paper's binary conv
HEATMAPS = "heatmaps"  # the last stack's output layer; stack i < last: f"s{i}_heatmaps"


@dataclass(frozen=True)
class BinaryHourglass:
    """The binary hourglass network; :meth:`build` returns the Keras model.

    Variants override fields: ``block`` picks the residual block, ``channels`` the width.
    """

    name: str = "hourglass_hpm"
    block: Callable = hpm_block  # (x, channels, policy, *, relu, name) -> tensor
    input_size: tuple[int, int] = (256, 256)  # the paper's MPII crops
    num_keypoints: int = 16  # MPII joints
    channels: int = 256  # 1.27 MB LCE flatbuffer, the paper's ~1.3 MB; a multiple of 128
    blocks_per_level: int = 1  # per branch and level, as in the paper's single hourglass
    depth: int = 4  # H/4 -> H/64: the bottom sees the whole 256x256 crop at 4x4
    pre_blocks: int = 2  # at H/4 before the hourglass (Newell's stem: r1 -> pool -> r4, r5)
    stem_channels: int = 64
    head_channels: int | None = None  # float 1x1 conv of the head; None: channels
    stacks: int = 1  # hourglasses in a row; the paper's MPII model has one
    relu_after_conv: bool = False  # the paper's ReLU variant (module docstring)
    policy: QuantPolicy = QuantPolicy().with_weights(DEFAULT_WEIGHTS)

    def __post_init__(self):
        if self.depth < 1 or self.blocks_per_level < 1 or self.pre_blocks < 0:
            raise ValueError(f"{self.name}: depth and blocks_per_level must be >= 1 and "
                             f"pre_blocks >= 0, got {self.depth}, {self.blocks_per_level}, "
                             f"{self.pre_blocks}")
        if self.num_keypoints < 1:
            raise ValueError(f"{self.name}: num_keypoints must be >= 1, got {self.num_keypoints}")
        if not isinstance(self.stacks, int) or self.stacks < 1:
            raise ValueError(f"{self.name}: stacks must be an integer >= 1, got {self.stacks!r}")
        # The stem halves twice, each hourglass level once more.
        size = check_input_size(self.input_size, 4 * 2**self.depth, self.name)
        object.__setattr__(self, "input_size", size)

    def blocks(self, x, count: int, name: str):
        for i in range(count):
            x = self.block(x, self.channels, self.policy, relu=self.relu_after_conv,
                           name=f"{name}_b{i}")
        return x

    def stem(self, x):
        x = tf.keras.layers.Conv2D(self.stem_channels, 7, strides=2, padding="same",
                                   use_bias=False, name="stem_conv")(x)
        x = batch_norm("stem_bn")(x)
        x = tf.keras.layers.ReLU(name="stem_relu")(x)
        x = self.blocks(x, 1, "stem")  # 64 -> C, float 1x1 shortcut
        x = tf.keras.layers.MaxPooling2D(2, name="stem_pool")(x)
        return self.blocks(x, self.pre_blocks, "pre")

    def hourglass(self, x, prefix: str = "", level: int = 0):
        """``up + upsample(low)``: ``up`` at this resolution, ``low`` one octave down."""
        n = self.blocks_per_level
        name = f"{prefix}hg_l{level}"
        up = self.blocks(x, n, f"{name}_up")
        low = tf.keras.layers.MaxPooling2D(2, name=f"{name}_pool")(x)  # the paper: max > avg
        low = self.blocks(low, n, f"{name}_low1")
        if level + 1 < self.depth:
            low = self.hourglass(low, prefix, level + 1)
        else:
            low = self.blocks(low, n, f"{name}_low2")
        low = self.blocks(low, n, f"{name}_low3")
        low = tf.keras.layers.UpSampling2D(2, interpolation="nearest",
                                           name=f"{name}_upsample")(low)
        return tf.keras.layers.Add(name=f"{name}_add")([up, low])

    def head(self, x, prefix: str = ""):
        """``(features, heatmap logits)`` of one stack."""
        x = self.blocks(x, 1, f"{prefix}post")
        x = tf.keras.layers.Conv2D(self.head_channels or self.channels, 1, use_bias=False,
                                   name=f"{prefix}head_conv")(x)
        x = batch_norm(f"{prefix}head_bn")(x)
        features = tf.keras.layers.ReLU(name=f"{prefix}head_relu")(x)
        heatmaps = tf.keras.layers.Conv2D(self.num_keypoints, 1, dtype="float32",
                                          name=f"{prefix}{HEATMAPS}")(features)
        return features, heatmaps

    def merge(self, x, features, heatmaps, prefix: str):
        """The next stack's input: ``x + conv1x1(features) + conv1x1(heatmaps)`` (Newell)."""
        features = tf.keras.layers.Conv2D(self.channels, 1, name=f"{prefix}merge_features")(
            features)
        heatmaps = tf.keras.layers.Conv2D(self.channels, 1, name=f"{prefix}merge_heatmaps")(
            heatmaps)
        return tf.keras.layers.Add(name=f"{prefix}merge")([x, features, heatmaps])

    def stack_prefix(self, stack: int) -> str:
        return "" if stack == self.stacks - 1 else f"s{stack}_"

    @model_builder
    def build(self) -> tf.keras.Model:
        """The inference model: images in, the last stack's heatmap logits out."""
        inputs, x = image_input(self.input_size)
        x = self.stem(x)
        for stack in range(self.stacks):
            prefix = self.stack_prefix(stack)
            features, heatmaps = self.head(self.hourglass(x, prefix), prefix)
            if stack + 1 < self.stacks:
                x = self.merge(x, features, heatmaps, prefix)
        return tf.keras.Model(inputs, heatmaps, name=self.name)


def stack_outputs(model: tf.keras.Model) -> tf.keras.Model:
    """``model`` with one output per stack: every stack's heatmap logits, first to last.

    The returned model shares ``model``'s layers (training it trains ``model``); with a single
    stack it is ``model`` itself. For intermediate supervision: compile it with one heatmap
    loss, which Keras applies to every output against the same targets and sums; ``model``
    (the last stack's heatmaps) is what to validate, save and convert.
    """
    names = {layer.name for layer in model.layers}
    early, stack = [], 0
    while f"s{stack}_{HEATMAPS}" in names:
        early.append(model.get_layer(f"s{stack}_{HEATMAPS}").output)
        stack += 1
    if not early:
        return model
    return tf.keras.Model(model.inputs, [*early, *model.outputs], name=f"{model.name}_stacks")


def quant_policy(weights: str | None = None, policy: QuantPolicy | None = None) -> QuantPolicy:
    """The binary hourglass's policy: ``policy`` as given, else fully binary with ``weights``
    (``"scaled"``, the default, or ``"plain"``); both at once is a ValueError."""
    if policy is not None and weights is not None:
        raise ValueError("give the weights or a policy, not both (a policy sets its own "
                         "kernel quantizer; QuantPolicy().with_weights(...))")
    return policy or QuantPolicy().with_weights(weights or DEFAULT_WEIGHTS)


def hourglass_hpm(*, input_size=(256, 256), num_keypoints: int = 16, channels: int = 256,
                  weights: str | None = None, relu_after_conv: bool = False, stacks: int = 1,
                  policy: QuantPolicy | None = None, **overrides) -> tf.keras.Model:
    """Binary hourglass of HPM blocks (Bulat & Tzimiropoulos, ICCV 2017).

    Args:
        input_size: (H, W), multiples of 64 (of ``4 * 2**depth`` when ``depth`` is overridden).
        num_keypoints: K, heatmap channels (16 for MPII, 17 for COCO).
        channels: block width C; keep it a multiple of 128 for LCE's bit-packing. 256 gives a
            1.27 MB LCE flatbuffer, the paper's ~1.3 MB budget (128: 0.41 MB, 384: 2.68 MB).
            The module docstring lists the bottleneck widths with the same parameter count.
        weights: binary weights, ``"scaled"`` (default: +-alpha per output filter, XNOR-Net's
            scale as in the paper) or ``"plain"`` (+-1). Not with ``policy``.
        relu_after_conv: a ReLU after every binary conv (the paper's +2 % variant).
        stacks: hourglasses in a row (module docstring); the model outputs the last one's
            heatmaps, :func:`stack_outputs` all of them.
        policy: quantisation of every binary conv, instead of ``weights``; e.g.
            ``quant_policy().float_twin()`` or ``quant_policy().stage_one()`` (same layers).
        **overrides: other :class:`BinaryHourglass` fields (``blocks_per_level``, ``depth``,
            ``pre_blocks``, ``head_channels``, ``stem_channels``, ``name``).

    Returns:
        A ``tf.keras.Model`` named "hourglass_hpm": ``[B, H, W, 3]`` RGB in [0, 255] to
        ``[B, H/4, W/4, K]`` float32 heatmap logits (the last stack's).
    """
    return BinaryHourglass(**{
        "name": "hourglass_hpm", "block": hpm_block, "input_size": tuple(input_size),
        "num_keypoints": num_keypoints, "channels": channels, "stacks": stacks,
        "relu_after_conv": relu_after_conv, "policy": quant_policy(weights, policy),
        **overrides,
    }).build()


def hourglass_bottleneck_binary(*, input_size=(256, 256), num_keypoints: int = 16,
                                channels: int = 256, weights: str | None = None,
                                relu_after_conv: bool = False, stacks: int = 1,
                                policy: QuantPolicy | None = None,
                                **overrides) -> tf.keras.Model:
    """Binary hourglass of binarised bottleneck blocks: the baseline of the HPM paper.

    Same network, arguments and layout as :func:`hourglass_hpm`; each block is
    ``1x1 C→C/2, 3x3, 1x1 C/2→C`` (pre-activation, all binary) instead of the HPM block: per block
    3.25 C² binary weights and MACs per pixel against the HPM block's 6.19 C². At
    ``channels=352`` it has the parameter count of :func:`hourglass_hpm` at its default 256
    (module docstring, with the other matched widths).

    Returns:
        A ``tf.keras.Model`` named "hourglass_bottleneck_binary": ``[B, H, W, 3]`` RGB in
        [0, 255] to ``[B, H/4, W/4, K]`` float32 heatmap logits (the last stack's).
    """
    return BinaryHourglass(**{
        "name": "hourglass_bottleneck_binary", "block": binary_bottleneck_block,
        "input_size": tuple(input_size), "num_keypoints": num_keypoints, "channels": channels,
        "stacks": stacks, "relu_after_conv": relu_after_conv,
        "policy": quant_policy(weights, policy), **overrides,
    }).build()
