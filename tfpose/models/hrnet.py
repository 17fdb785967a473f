"""HRNet for top-down pose estimation (Sun et al., "Deep High-Resolution Representation
Learning for Human Pose Estimation", CVPR 2019): the real-valued teacher of BiHRNet.

One wiring, :func:`build_hrnet`, with the parts supplied by an
:class:`~tfpose.layers.hrnet_blocks.HRNetBlocks`: the real-valued blocks give HRNet-W18/32/48,
the binary blocks give BiHRNet (:mod:`tfpose.models.bihrnet`).

Structure: stem (two stride-2 3x3 convs, 64 channels) -> stage 1 (4 bottlenecks) -> stages 2, 3,
4 with 2, 3, 4 parallel branches of widths W, 2W, 4W, 8W at 1/4 ... 1/32 resolution, made of 1,
4, 3 exchange modules (4 basic blocks per branch, then every branch receives the sum of all
branches: 1x1 conv + nearest upsampling from lower resolutions, chains of stride-2 3x3 convs
from higher ones) -> a 1x1 conv on the 1/4-resolution branch gives K heatmaps. The last module
only fuses into the highest-resolution branch, as in the reference pose network.

Input: ``[B, H, W, 3]`` RGB in [0, 255] (normalised in the graph); output: ``[B, H/4, W/4, K]``
float32 heatmaps (raw; decode with :class:`~tfpose.codecs.heatmap.HeatmapCodec`).
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from tfpose.layers.common import check_input_size, image_input, model_builder
from tfpose.layers.hrnet_blocks import HRNetBlocks, float_blocks

layers = tf.keras.layers


@dataclass(frozen=True)
class HRNetConfig:
    width: int = 32  # channels of the highest-resolution branch (W18 / W32 / W48)
    modules: tuple[int, int, int] = (1, 4, 3)  # exchange modules in stages 2, 3, 4
    branch_blocks: int = 4  # blocks per branch in every module
    stage1_blocks: int = 4
    stem_channels: int = 64


@model_builder
def build_hrnet(config: HRNetConfig, blocks: HRNetBlocks, *, input_size, num_keypoints: int,
                name: str) -> tf.keras.Model:
    input_size = check_input_size(input_size, 32, name)  # four halvings below the 1/4 branch
    inputs, x = image_input(input_size)
    x = blocks.stem(x, config.stem_channels, "stem1")  # the first conv is always real-valued
    x = blocks.transition(x, config.stem_channels, 2, "stem2")
    for i in range(config.stage1_blocks):
        x = blocks.stage1_block(x, f"stage1_b{i}")
    features = [x]
    for stage, num_modules in enumerate(config.modules, start=2):
        channels = [config.width * 2**i for i in range(stage)]
        features = _transition(features, channels, blocks, f"t{stage}")
        for m in range(num_modules):
            last = stage == 4 and m == num_modules - 1
            features = _exchange_module(features, channels, blocks, config.branch_blocks,
                                        outputs=1 if last else stage, name=f"s{stage}_m{m}")
    heatmaps = layers.Conv2D(num_keypoints, 1, name="head", dtype="float32")(features[0])
    return tf.keras.Model(inputs, heatmaps, name=name)


def _transition(features, channels, blocks: HRNetBlocks, name):
    out = []
    for i, filters in enumerate(channels):
        if i < len(features):
            x = features[i]
            out.append(x if x.shape[-1] == filters else blocks.transition(
                x, filters, 1, f"{name}_b{i}"))
        else:  # a new, lower-resolution branch grows from the previous lowest one
            out.append(blocks.transition(features[-1], filters, 2, f"{name}_b{i}"))
    return out


def _exchange_module(features, channels, blocks: HRNetBlocks, num_blocks, outputs, name):
    branches = []
    for i, x in enumerate(features):
        for b in range(num_blocks):
            x = blocks.branch_block(x, f"{name}_b{i}_k{b}")
        branches.append(x)
    fused = []
    for i in range(outputs):
        parts = [_resample(branches[j], i, j, channels, blocks, f"{name}_f{i}{j}")
                 for j in range(len(branches))]
        total = layers.Add(name=f"{name}_f{i}_sum")(parts)
        fused.append(blocks.merge(total, f"{name}_f{i}"))
    return fused


def _resample(x, i, j, channels, blocks: HRNetBlocks, name):
    """Branch j's features at branch i's resolution and width."""
    if j == i:
        return x
    if j > i:
        return blocks.fuse_up(x, channels[i], 2 ** (j - i), name)
    for k in range(i - j):
        last = k == i - j - 1
        x = blocks.fuse_down(x, channels[i] if last else channels[j], last, f"{name}_d{k}")
    return x


def hrnet(*, width: int = 32, input_size=(256, 192), num_keypoints: int = 17,
          **overrides) -> tf.keras.Model:
    """Real-valued HRNet-W``width`` (18, 32 or 48 in the paper; any width works).

    ``overrides`` set :class:`HRNetConfig` fields (``modules``, ``branch_blocks``, ...).
    """
    config = HRNetConfig(width=width, **overrides)
    return build_hrnet(config, float_blocks(), input_size=input_size,
                       num_keypoints=num_keypoints, name=f"hrnet_w{width}")
