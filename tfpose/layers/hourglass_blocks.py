"""Residual blocks of the binary hourglass (Bulat & Tzimiropoulos, ICCV 2017).

Both blocks are *pre-activation* blocks: every binary convolution reads
``sign(BN(x))`` (BatchNorm, then the conv's ``ste_sign`` input quantizer) and the residual
stream between blocks stays real-valued and linear, as in the paper. ``policy.activation``
(RPReLU after a shortcut sum, for post-activation units) is therefore not used here;
``policy.learnable_shift`` adds ReActNet's per-channel shift between the BatchNorm and the sign,
which keeps nothing between the quantizer and the conv (what LCE needs to emit ``LceBconv2d``).

- :func:`hpm_block`: the paper's hierarchical, parallel and multi-scale block; three chained
  binary 3x3 convs (C/2, C/4, C/4 channels) concatenated back to C. The chain gives receptive
  fields of 3x3, 5x5 and 7x7 without any binary 1x1 conv, which the paper found hurts binary nets.
- :func:`binary_bottleneck_block`: the ResNet bottleneck (1x1 C→C/2, 3x3, 1x1 C/2→C) binarised,
  the paper's baseline.

``relu=True`` adds a ReLU right after every binary conv of a block (``BN → sign → conv → ReLU``),
the variant the paper reports about 2 % better: in the HPM block each branch is then rectified
before it joins the concatenation and before the next conv of the chain reads it (through its
own BatchNorm and sign); the residual sum and the stream between blocks stay linear. The
position, right at the conv's output, is our reading of the paper's "ReLU after the conv". LCE
0.16 fuses such a ReLU into the ``LceBconv2d`` op only when the op's output multiplier is 1,
i.e. with plain +-1 weights: with scaled weights (alpha in the multiplier) each ReLU stays a
float ``RELU`` op, and in the bottleneck block it also keeps the next BatchNorm from folding
into the op and the op from writing bit-packed output (measured, tests/models/
test_hourglass_lce.py).

Layer names: ``{name}_conv{k}_{bn,shift,bconv,relu}``, ``{name}_concat``,
``{name}_shortcut_{conv,bn}`` (only when the channel count changes) and ``{name}_add``.
"""

from __future__ import annotations

import tensorflow as tf

from tfpose.layers.binary import LearnableBias, QuantPolicy, batch_norm, float_shortcut


def preact_binary_conv(x, filters: int, policy: QuantPolicy, *, kernel_size: int = 3,
                       relu: bool = False, name: str):
    """``bconv(sign(shift(BN(x))))``: one pre-activation binary convolution (``relu``: then a
    ReLU).

    The sign is the conv's own input quantizer, so LCE sees the quantizer directly in front of the
    conv; the BatchNorm before it becomes the binarisation threshold.
    """
    y = batch_norm(f"{name}_bn")(x)
    if policy.learnable_shift:
        y = LearnableBias(name=f"{name}_shift")(y)
    y = policy.conv(filters, kernel_size, name=f"{name}_bconv")(y)
    return tf.keras.layers.ReLU(name=f"{name}_relu")(y) if relu else y


def _residual(x, y, channels: int, name: str):
    shortcut = float_shortcut(x, channels, name=f"{name}_shortcut")
    return tf.keras.layers.Add(name=f"{name}_add")([shortcut, y])


def hpm_block(x, channels: int, policy: QuantPolicy, *, relu: bool = False, name: str):
    """Hierarchical, parallel and multi-scale (HPM) block: ``[B, H, W, C_in] -> [B, H, W, C]``.

    Three chained pre-activation binary 3x3 convs produce C/2, C/4 and C/4 channels, each fed the
    previous conv's output; their concatenation (C channels) is added to the block's input. The
    shortcut is the identity, or a real-valued 1x1 conv + BatchNorm when ``C_in != C``.

    Args:
        x: NHWC input tensor.
        channels: output channels C, a multiple of 4 (of 128 for LCE: C/4 then fills whole
            32-bit words of the bit-packed input of the last conv).
        policy: quantisation of the three convs (``policy.float_twin()`` for a float block).
        relu: a ReLU after each conv (module docstring).
        name: prefix of every layer name.

    Returns:
        The NHWC output tensor with C channels.
    """
    if channels % 4:
        raise ValueError(f"hpm_block needs channels divisible by 4, got {channels}")
    branches, y = [], x
    for k, filters in enumerate((channels // 2, channels // 4, channels // 4), start=1):
        y = preact_binary_conv(y, filters, policy, kernel_size=3, relu=relu,
                               name=f"{name}_conv{k}")
        branches.append(y)
    y = tf.keras.layers.Concatenate(name=f"{name}_concat")(branches)
    return _residual(x, y, channels, name)


def binary_bottleneck_block(x, channels: int, policy: QuantPolicy, *, relu: bool = False,
                            name: str):
    """Binarised pre-activation bottleneck: ``[B, H, W, C_in] -> [B, H, W, C]``.

    ``BN→sign→1x1 (C/2)``, ``BN→sign→3x3 (C/2)``, ``BN→sign→1x1 (C)``, plus the identity (or a
    real-valued 1x1 conv + BatchNorm when ``C_in != C``). The baseline the HPM block replaces.

    Args:
        x: NHWC input tensor.
        channels: output channels C, even.
        policy: quantisation of the three convs.
        relu: a ReLU after each conv (module docstring).
        name: prefix of every layer name.

    Returns:
        The NHWC output tensor with C channels.
    """
    if channels % 2:
        raise ValueError(f"binary_bottleneck_block needs an even channel count, got {channels}")
    y = x
    for k, (filters, size) in enumerate(
            ((channels // 2, 1), (channels // 2, 3), (channels, 1)), start=1):
        y = preact_binary_conv(y, filters, policy, kernel_size=size, relu=relu,
                               name=f"{name}_conv{k}")
    return _residual(x, y, channels, name)
