"""Blocks of the HRNet family: the real-valued originals and their binary counterparts.

An :class:`HRNetBlocks` bundles how each part of an HRNet is built (stage-1 block, branch block,
transition, the two halves of the exchange unit), so one wiring (:mod:`tfpose.models.hrnet`)
serves the real-valued teacher and the binary BiHRNet.

Binary blocks (BiHRNet, arXiv 2311.10296). The paper names the two blocks and their aims: an IR
Bottleneck (information reconstruction) in the first stage, to keep information, and an
MS-Block, a multi-scale basic block. It does not publish their insides, so the design below is
ours, configurable, and argued from those names and aims. So is the binary conv unit every
block is made of (:func:`tfpose.layers.binary.binary_conv_unit`: Bi-Real Net's real-valued
shortcut and BatchNorm, ReActNet's learnable shift and RPReLU), and the binarised transitions
and down-sampling paths of :func:`binary_blocks`:

* **IR Bottleneck** (information reconstruction). HRNet's bottleneck squeezes 256 -> 64 channels
  with a 1x1 conv before its 3x3 conv; binarised, the squeeze keeps 64 bits per pixel of a
  256-channel input and the information is gone. The IR Bottleneck never narrows: it expands
  C -> e*C (binary conv; the real-valued input tiled e times is its shortcut), applies a binary
  3x3 conv at e*C (identity shortcut) and projects back to C (binary conv; the *block input* is
  the shortcut, which reconstructs what the binary path could not carry). Every binary conv thus
  sees at least C channels and has a real-valued path around it.
* **MS-Block** (multi-scale). HRNet's basic block has two 3x3 convs. Each becomes a multi-scale
  unit: parallel binary 3x3 convs with different dilations (default 1 and 2, receptive fields 3
  and 5), each producing C / n channels from the same input and each followed by its own
  BatchNorm (so LCE folds it), concatenated back to C, plus the identity. Binary features are
  coarse; several receptive fields per layer give the next layer more distinct evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

from tfpose.layers.binary import QuantPolicy, activation, binary_conv_unit
from tfpose.layers.resnet_blocks import bottleneck, conv_bn

layers = tf.keras.layers


@dataclass(frozen=True)
class HRNetBlocks:
    """How each part of an HRNet is built. Every callable takes and returns a tensor."""

    stem: Callable  # (x, filters, name): the first, real-valued stride-2 conv
    stage1_block: Callable  # (x, name) -> x
    branch_block: Callable  # (x, name) -> x, same shape
    transition: Callable  # (x, filters, strides, name) -> x
    fuse_up: Callable  # (x, filters, factor, name): lower resolution -> higher
    fuse_down: Callable  # (x, filters, last, name): one stride-2 step toward lower resolution
    merge: Callable  # (x, name): activation after summing an exchange unit's inputs


# ---- real-valued HRNet (Sun et al., CVPR 2019) ------------------------------------------------
# conv_bn and the stage-1 bottleneck are ResNet's (tfpose.layers.resnet_blocks): the authors'
# HRNet uses the same blocks, with PyTorch's symmetric padding at stride 2.
def basic_block(x, *, name):
    filters = x.shape[-1]
    y = conv_bn(x, filters, 3, name=f"{name}_1")
    y = conv_bn(y, filters, 3, relu=False, name=f"{name}_2")
    return layers.ReLU(name=f"{name}_relu")(layers.Add(name=f"{name}_add")([y, x]))


def upsample(x, filters, factor, conv, *, name):
    x = conv(x, name)
    return layers.UpSampling2D(factor, interpolation="nearest", name=f"{name}_up")(x)


def float_blocks() -> HRNetBlocks:
    return HRNetBlocks(
        stem=lambda x, filters, name: conv_bn(x, filters, 3, 2, name=name),
        stage1_block=lambda x, name: bottleneck(x, 64, name=name),
        branch_block=lambda x, name: basic_block(x, name=name),
        transition=lambda x, filters, strides, name: conv_bn(x, filters, 3, strides, name=name),
        fuse_up=lambda x, filters, factor, name: upsample(
            x, filters, factor, lambda t, n: conv_bn(t, filters, 1, relu=False, name=n),
            name=name),
        fuse_down=lambda x, filters, last, name: conv_bn(x, filters, 3, 2, relu=not last,
                                                         name=name),
        merge=lambda x, name: layers.ReLU(name=f"{name}_relu")(x),
    )


# ---- binary blocks (BiHRNet) -------------------------------------------------------------------
def ir_bottleneck(x, policy: QuantPolicy, expansion: int = 2, expand_kernel: int = 1,
                  project_kernel: int = 1, *, name):
    """BiHRNet's information-reconstruction bottleneck (the name and aim are the paper's, the
    insides ours: module docstring); input and output have the same channels."""
    channels = x.shape[-1]
    tiled = x if expansion == 1 else layers.Concatenate(name=f"{name}_tile")([x] * expansion)
    y = binary_conv_unit(x, channels * expansion, policy, kernel_size=expand_kernel,
                         shortcut=False, name=f"{name}_expand")
    y = activation(layers.Add(name=f"{name}_expand_add")([y, tiled]), policy, f"{name}_expand")
    y = binary_conv_unit(y, channels * expansion, policy, name=f"{name}_mid")
    y = binary_conv_unit(y, channels, policy, kernel_size=project_kernel, shortcut=False,
                         name=f"{name}_project")
    return activation(layers.Add(name=f"{name}_project_add")([y, x]), policy, f"{name}_project")


def multi_scale_unit(x, policy: QuantPolicy, dilations=(1, 2), *, name):
    """Parallel dilated binary 3x3 convs, concatenated back to the input width, + identity."""
    channels = x.shape[-1]
    if channels % len(dilations):
        raise ValueError(f"{name}: {channels} channels do not split into {len(dilations)} scales")
    paths = [
        binary_conv_unit(x, channels // len(dilations), policy, dilation_rate=d, shortcut=False,
                         name=f"{name}_d{d}")
        for d in dilations
    ]
    y = paths[0] if len(paths) == 1 else layers.Concatenate(name=f"{name}_concat")(paths)
    return activation(layers.Add(name=f"{name}_add")([y, x]), policy, name)


def ms_block(x, policy: QuantPolicy, dilations=(1, 2), *, name):
    """BiHRNet's MS-Block, a multi-scale basic block (the paper's); ours: two multi-scale units
    in place of HRNet's basic block's two 3x3 convs."""
    y = multi_scale_unit(x, policy, dilations, name=f"{name}_1")
    return multi_scale_unit(y, policy, dilations, name=f"{name}_2")


def binary_blocks(policy: QuantPolicy, *, ir_expansion: int = 2,
                  dilations=(1, 2)) -> HRNetBlocks:
    """BiHRNet's parts: the paper's IR Bottleneck (stage 1) and MS-Block (branches), with our
    insides; binary units in the transitions and down-sampling paths (ours). Float (ours): the
    exchange units' 1x1 up-projections (they run at the lower resolution, so they cost few MACs,
    and keep the exchange between branches real-valued) and the real-valued shortcuts of every
    binary unit."""
    return HRNetBlocks(
        # No ReLU before the first binary conv: non-negative inputs would all binarise to +1.
        # "same": LCE's converter mis-fuses an explicit stride-2 pad (tfpose.layers.common).
        stem=lambda x, filters, name: conv_bn(x, filters, 3, 2, relu=False, name=name,
                                              padding="same"),
        stage1_block=lambda x, name: ir_bottleneck(x, policy, ir_expansion, name=name),
        branch_block=lambda x, name: ms_block(x, policy, dilations, name=name),
        transition=lambda x, filters, strides, name: binary_conv_unit(
            x, filters, policy, strides=strides, name=name),
        fuse_up=lambda x, filters, factor, name: upsample(
            x, filters, factor, lambda t, n: conv_bn(t, filters, 1, relu=False, name=n),
            name=name),
        fuse_down=lambda x, filters, last, name: binary_conv_unit(
            x, filters, policy, strides=2, name=name),
        merge=lambda x, name: activation(x, policy, name),
    )
