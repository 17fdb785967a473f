"""LitePose for bottom-up multi-person pose estimation (Wang et al., "Lite Pose: Efficient
Architecture Design for 2D Human Pose Estimation", CVPR 2022; mit-han-lab/litepose).

Structure: a single-branch MobileNetV2-style backbone (stem at 1/2 of the input, then four stages
of inverted bottlenecks with large depthwise kernels ending at 1/16: the last stage keeps the
resolution) and the fusion deconv head, which up-samples three times and adds at every step the
backbone feature of the same resolution (blocks: :mod:`tfpose.layers.mobile_blocks`).

Variants (the released architecture-search results, ``mobile_configs/search-{XS,S,M,L}.json`` of
mit-han-lab/litepose, read for their numbers): every variant has 6/8/10/10 blocks in its four
stages with strides 2/2/2/1, expansion 6 and 7x7 depthwise kernels in every block; they differ
in stem width, stage widths, deconv filters and input size:

========  =====  ====  ===============  ===============
variant   input  stem  stage channels   deconv filters
========  =====  ====  ===============  ===============
XS        256    16    16/32/48/80      16/24/24
S         448    16    16/32/48/120     32/24/32
M         448    16    24/48/72/120     64/40/32
L         512    24    24/64/96/160     64/40/32
========  =====  ====  ===============  ===============

Ablations (the paper's; rows of ``benchmarks/ablations.py``), counted at LitePose-S, 448x448,
K = 17 (real MACs / the authors' ptflops count, params; tests/models/test_litepose.py computes
them):

* ``kernel_size`` 3, 5, 7 (LitePose), 9: the depthwise kernel of every backbone block. 2.855 /
  3.163 / 3.624 / 4.240 G real MACs (4.222 / 4.530 / 4.992 / 5.607 G ptflops); 7x7 costs 27%
  more real MACs than 3x3 (18% in ptflops), the paper's "only 25% computation increment" for
  +14 mAP on CrowdPose.
* ``head="plain"``: three transposed conv + BN + ReLU steps on the backbone output only, the
  predictions from that path only: the fusion head without its raw skips. At the same deconv
  filters the plain head is the *cheaper* one: 3.418 G real / 4.301 G ptflops and 2.685 M params
  against the fusion head's 3.624 / 4.992 G and 2.732 M (fusion +6% real MACs, +16% ptflops,
  +1.7% params: three more transposed convs and two more predictions). The paper's head
  comparison is quoted as 4.06 GMACs for the fusion head vs 4.69 for a plain deconv head; that
  direction does not hold for these heads at equal widths. 4.69 / 4.06 = 1.155 is the ratio
  measured here for fusion over plain (1.161), so the quoted pairing may be the other way
  round; the paper's body was not available here to settle it.

Input: ``[B, H, W, 3]`` RGB in [0, 255] (normalised in the graph), H and W multiples of 64, any
aspect ratio (tfpose's convention for bottom-up models, :data:`INPUT_MULTIPLE`; the network
itself only needs multiples of 16). Outputs follow the input size, float32, raw:

* ``[B, H/4, W/4, 2K]``: K heatmaps, then K associative-embedding tags (one per keypoint);
* ``[B, H/2, W/2, K]``: K heatmaps at the higher resolution.

Cost at the default input sizes, K = 17: 0.886 / 3.62 / 5.28 / 9.98 G real multiply-accumulates
(XS / S / M / L: convolutions, depthwise and transposed convolutions at batch 1). The published
1.2 / 5.0 / 7.8 / 13.8 G come from ptflops, which counts a stride-2 transposed conv at its output
positions (4x its MACs) and adds BatchNorm and ReLU element counts; counted that way these models
give 1.205 / 4.99 / 7.85 / 13.73 G, and the two other search results released with the code
(``arch_search/result``: 4.36 and 7.71 G, CrowdPose K = 14) to 0.1%
(tests/models/test_litepose.py).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace

import tensorflow as tf

from tfpose.layers import mobile_blocks as blocks
from tfpose.layers.common import check_input_size, image_input, model_builder

HEADS = ("fusion", "plain")
INPUT_MULTIPLE = 64
OUTPUT_NAMES = ("stride4_heatmaps_tags", "stride2_heatmaps")


@dataclass(frozen=True)
class LitePoseConfig:
    """Architecture of one LitePose variant (defaults: LitePose-XS)."""

    stem_width: int = 16
    stage_channels: tuple[int, ...] = (16, 32, 48, 80)
    stage_blocks: tuple[int, ...] = (6, 8, 10, 10)  # every released search result
    stage_strides: tuple[int, ...] = (2, 2, 2, 1)  # ends at 1/16: MobileNetV2's last /2 removed
    kernel_size: int = 7  # depthwise kernel of every block; the paper sweeps 3, 5, 7, 9
    expansion: int = 6
    deconv_filters: tuple[int, int, int] = (16, 24, 24)
    head: str = "fusion"  # "fusion" (LitePose) or "plain" (ablation)

    def __post_init__(self):
        per_stage = (len(self.stage_channels), len(self.stage_blocks), len(self.stage_strides))
        if len(set(per_stage)) != 1:
            raise ValueError(f"stage_channels, stage_blocks and stage_strides need one entry per "
                             f"stage, got {per_stage[0]}, {per_stage[1]} and {per_stage[2]}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number, got {self.kernel_size}")
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {self.head!r}")
        if len(self.deconv_filters) != 3:
            raise ValueError(f"deconv_filters needs 3 entries, got {self.deconv_filters}")
        if min(self.stage_blocks, default=0) < 1 or any(s not in (1, 2)
                                                        for s in self.stage_strides):
            raise ValueError(f"every stage needs at least one block and stride 1 or 2, got "
                             f"blocks {self.stage_blocks}, strides {self.stage_strides}")
        strides = self.feature_strides
        missing = [s for s in (2, 4, 8, 16) if s not in strides]
        if strides[-1] != 16 or missing or (self.head == "fusion" and strides[-2] != 16):
            raise ValueError(
                f"the deconv head needs a backbone ending at 1/16 with features at 1/2, 1/4, 1/8 "
                f"(and, for the fusion head, a second-last stage at 1/16); stage_strides "
                f"{self.stage_strides} give features at 1/{', 1/'.join(map(str, strides))}")

    @property
    def feature_strides(self) -> tuple[int, ...]:
        """Output stride of the stem and of every stage."""
        strides = [2]
        for s in self.stage_strides:
            strides.append(strides[-1] * s)
        return tuple(strides)


VARIANTS: dict[str, LitePoseConfig] = {
    "xs": LitePoseConfig(),
    "s": LitePoseConfig(stage_channels=(16, 32, 48, 120), deconv_filters=(32, 24, 32)),
    "m": LitePoseConfig(stage_channels=(24, 48, 72, 120), deconv_filters=(64, 40, 32)),
    "l": LitePoseConfig(stem_width=24, stage_channels=(24, 64, 96, 160),
                        deconv_filters=(64, 40, 32)),
}
DEFAULT_INPUT_SIZES = {"xs": 256, "s": 448, "m": 448, "l": 512}  # the released search results


@model_builder
def build_litepose(config: LitePoseConfig, *, input_size, num_keypoints: int,
                   name: str) -> tf.keras.Model:
    """LitePose from an explicit :class:`LitePoseConfig` (see :func:`litepose`)."""
    input_size = check_input_size(input_size, INPUT_MULTIPLE, name)
    if num_keypoints < 1:
        raise ValueError(f"num_keypoints must be positive, got {num_keypoints}")
    inputs, x = image_input(input_size)
    features = [blocks.stem(x, config.stem_width)]
    for stage, (channels, num_blocks, strides) in enumerate(
            zip(config.stage_channels, config.stage_blocks, config.stage_strides, strict=True),
            start=1):
        x = features[-1]
        for b in range(num_blocks):
            x = blocks.inverted_bottleneck(
                x, channels, strides=strides if b == 0 else 1, kernel_size=config.kernel_size,
                expansion=config.expansion, name=f"stage{stage}_b{b}")
        features.append(x)
    prediction_filters = (2 * num_keypoints, num_keypoints)  # heatmaps + tags; heatmaps
    if config.head == "fusion":
        outputs = blocks.fusion_deconv_head(
            features[-1], _raw_features(features, config.feature_strides), config.deconv_filters,
            prediction_filters, output_names=OUTPUT_NAMES)
    else:
        outputs = blocks.plain_deconv_head(features[-1], config.deconv_filters,
                                           prediction_filters, output_names=OUTPUT_NAMES)
    return tf.keras.Model(inputs, outputs, name=name)


def _raw_features(features, strides):
    """The fusion head's skips: the stage before the last (1/16), then the last feature at each
    of 1/8, 1/4, 1/2 (for the released configs: stages 3, 2, 1 and the stem)."""
    last_at = dict(zip(strides, features, strict=True))  # a later feature overwrites an earlier
    return [features[-2], last_at[8], last_at[4], last_at[2]]


def litepose(*, variant: str = "xs", input_size=None, num_keypoints: int = 17,
             kernel_size: int = 7, head: str = "fusion", **overrides) -> tf.keras.Model:
    """LitePose-``variant`` (XS, S, M or L), untrained.

    Args:
      variant: "xs", "s", "m" or "l" (any case): the released architecture-search results.
      input_size: ``(H, W)`` or one int for a square input; sides multiples of 64. Default: the
        variant's published size (256, 448, 448, 512 square).
      num_keypoints: K (17 for COCO, 14 for CrowdPose).
      kernel_size: depthwise kernel of every backbone block (7 in LitePose; the paper's sweep
        also has 3, 5 and 9).
      head: "fusion" (LitePose's fusion deconv head) or "plain" (the ablation: a deconv head on
        the backbone output only, without the raw skips).
      overrides: other :class:`LitePoseConfig` fields (``stage_blocks``, ``deconv_filters``...).

    Returns:
      A Keras model ``[B, H, W, 3]`` RGB in [0, 255] -> ``[[B, H/4, W/4, 2K], [B, H/2, W/2, K]]``
      (heatmaps then tags at 1/4; heatmaps at 1/2), float32, raw.
    """
    key = variant.lower()
    if key not in VARIANTS:
        raise ValueError(f"unknown LitePose variant {variant!r}; known: {', '.join(VARIANTS)}")
    config = replace(VARIANTS[key], kernel_size=kernel_size, head=head, **overrides)
    if input_size is None:
        input_size = DEFAULT_INPUT_SIZES[key]
    if isinstance(input_size, numbers.Integral):
        input_size = (input_size, input_size)
    return build_litepose(config, input_size=input_size, num_keypoints=num_keypoints,
                          name=f"litepose_{key}")


def litepose_xs(**kwargs) -> tf.keras.Model:
    """LitePose-XS (256x256 by default); arguments as :func:`litepose`."""
    return litepose(variant="xs", **kwargs)


def litepose_s(**kwargs) -> tf.keras.Model:
    """LitePose-S (448x448 by default); arguments as :func:`litepose`."""
    return litepose(variant="s", **kwargs)


def litepose_m(**kwargs) -> tf.keras.Model:
    """LitePose-M (448x448 by default); arguments as :func:`litepose`."""
    return litepose(variant="m", **kwargs)


def litepose_l(**kwargs) -> tf.keras.Model:
    """LitePose-L (512x512 by default); arguments as :func:`litepose`."""
    return litepose(variant="l", **kwargs)
