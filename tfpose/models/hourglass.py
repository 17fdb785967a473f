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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

from tfpose.layers.binary import QuantPolicy, batch_norm
from tfpose.layers.common import check_input_size, image_input, model_builder
from tfpose.layers.hourglass_blocks import binary_bottleneck_block, hpm_block


@dataclass(frozen=True)
class BinaryHourglass:
    """The binary hourglass network; :meth:`build` returns the Keras model.

    Variants override fields: ``block`` picks the residual block, ``channels`` the width.
    """

    name: str = "hourglass_hpm"
    block: Callable = hpm_block  # (x, channels, policy, *, name) -> tensor
    input_size: tuple[int, int] = (256, 256)  # the paper's MPII crops
    num_keypoints: int = 16  # MPII joints
    channels: int = 256  # 1.27 MB LCE flatbuffer, the paper's ~1.3 MB; a multiple of 128
    blocks_per_level: int = 1  # per branch and level, as in the paper's single hourglass
    depth: int = 4  # H/4 -> H/64: the bottom sees the whole 256x256 crop at 4x4
    pre_blocks: int = 2  # at H/4 before the hourglass (Newell's stem: r1 -> pool -> r4, r5)
    stem_channels: int = 64
    head_channels: int | None = None  # float 1x1 conv of the head; None: channels
    policy: QuantPolicy = QuantPolicy()

    def __post_init__(self):
        if self.depth < 1 or self.blocks_per_level < 1 or self.pre_blocks < 0:
            raise ValueError(f"{self.name}: depth and blocks_per_level must be >= 1 and "
                             f"pre_blocks >= 0, got {self.depth}, {self.blocks_per_level}, "
                             f"{self.pre_blocks}")
        if self.num_keypoints < 1:
            raise ValueError(f"{self.name}: num_keypoints must be >= 1, got {self.num_keypoints}")
        # The stem halves twice, each hourglass level once more.
        size = check_input_size(self.input_size, 4 * 2**self.depth, self.name)
        object.__setattr__(self, "input_size", size)

    def blocks(self, x, count: int, name: str):
        for i in range(count):
            x = self.block(x, self.channels, self.policy, name=f"{name}_b{i}")
        return x

    def stem(self, x):
        x = tf.keras.layers.Conv2D(self.stem_channels, 7, strides=2, padding="same",
                                   use_bias=False, name="stem_conv")(x)
        x = batch_norm("stem_bn")(x)
        x = tf.keras.layers.ReLU(name="stem_relu")(x)
        x = self.blocks(x, 1, "stem")  # 64 -> C, float 1x1 shortcut
        x = tf.keras.layers.MaxPooling2D(2, name="stem_pool")(x)
        return self.blocks(x, self.pre_blocks, "pre")

    def hourglass(self, x, level: int = 0):
        """``up + upsample(low)``: ``up`` at this resolution, ``low`` one octave down."""
        prefix, n = f"hg_l{level}", self.blocks_per_level
        up = self.blocks(x, n, f"{prefix}_up")
        low = tf.keras.layers.MaxPooling2D(2, name=f"{prefix}_pool")(x)  # the paper: max > avg
        low = self.blocks(low, n, f"{prefix}_low1")
        if level + 1 < self.depth:
            low = self.hourglass(low, level + 1)
        else:
            low = self.blocks(low, n, f"{prefix}_low2")
        low = self.blocks(low, n, f"{prefix}_low3")
        low = tf.keras.layers.UpSampling2D(2, interpolation="nearest",
                                           name=f"{prefix}_upsample")(low)
        return tf.keras.layers.Add(name=f"{prefix}_add")([up, low])

    def head(self, x):
        x = self.blocks(x, 1, "post")
        x = tf.keras.layers.Conv2D(self.head_channels or self.channels, 1, use_bias=False,
                                   name="head_conv")(x)
        x = batch_norm("head_bn")(x)
        x = tf.keras.layers.ReLU(name="head_relu")(x)
        return tf.keras.layers.Conv2D(self.num_keypoints, 1, dtype="float32",
                                      name="heatmaps")(x)

    @model_builder
    def build(self) -> tf.keras.Model:
        inputs, x = image_input(self.input_size)
        outputs = self.head(self.hourglass(self.stem(x)))
        return tf.keras.Model(inputs, outputs, name=self.name)


def hourglass_hpm(*, input_size=(256, 256), num_keypoints: int = 16, channels: int = 256,
                  policy: QuantPolicy | None = None, **overrides) -> tf.keras.Model:
    """Binary hourglass of HPM blocks (Bulat & Tzimiropoulos, ICCV 2017).

    Args:
        input_size: (H, W), multiples of 64 (of ``4 * 2**depth`` when ``depth`` is overridden).
        num_keypoints: K, heatmap channels (16 for MPII, 17 for COCO).
        channels: block width C; keep it a multiple of 128 for LCE's bit-packing. 256 gives a
            1.27 MB LCE flatbuffer, the paper's ~1.3 MB budget (128: 0.41 MB, 384: 2.68 MB).
        policy: quantisation of every binary conv; default ``QuantPolicy()`` (fully binary).
            ``policy.stage_one()`` and ``policy.float_twin()`` build the same layers.
        **overrides: other :class:`BinaryHourglass` fields (``blocks_per_level``, ``depth``,
            ``pre_blocks``, ``head_channels``, ``stem_channels``, ``name``).

    Returns:
        A ``tf.keras.Model`` named "hourglass_hpm": ``[B, H, W, 3]`` RGB in [0, 255] to
        ``[B, H/4, W/4, K]`` float32 heatmap logits.
    """
    return BinaryHourglass(**{
        "name": "hourglass_hpm", "block": hpm_block, "input_size": tuple(input_size),
        "num_keypoints": num_keypoints, "channels": channels,
        "policy": policy or QuantPolicy(), **overrides,
    }).build()


def hourglass_bottleneck_binary(*, input_size=(256, 256), num_keypoints: int = 16,
                                channels: int = 256, policy: QuantPolicy | None = None,
                                **overrides) -> tf.keras.Model:
    """Binary hourglass of binarised bottleneck blocks: the baseline of the HPM paper.

    Same network, arguments and layout as :func:`hourglass_hpm`; each block is
    ``1x1 C→C/2, 3x3, 1x1 C/2→C`` (pre-activation, all binary) instead of the HPM block: per block
    3.25 C² binary weights and MACs per pixel against the HPM block's 6.19 C².

    Returns:
        A ``tf.keras.Model`` named "hourglass_bottleneck_binary": ``[B, H, W, 3]`` RGB in
        [0, 255] to ``[B, H/4, W/4, K]`` float32 heatmap logits.
    """
    return BinaryHourglass(**{
        "name": "hourglass_bottleneck_binary", "block": binary_bottleneck_block,
        "input_size": tuple(input_size), "num_keypoints": num_keypoints, "channels": channels,
        "policy": policy or QuantPolicy(), **overrides,
    }).build()
