"""BiHRNet: binary HRNet for pose estimation (arXiv 2311.10296).

HRNet's wiring (:mod:`tfpose.models.hrnet`) with binary parts
(:func:`tfpose.layers.hrnet_blocks.binary_blocks`): IR Bottlenecks in stage 1, MS-Blocks in the
branches, binary 3x3 units in the transitions and in the exchange units' down-sampling paths,
every binary conv with a real-valued shortcut. The paper does not publish the blocks' insides;
our design and its reasons are in :mod:`tfpose.layers.hrnet_blocks`.

Layers that stay real-valued, and why:

* the first stem conv (3 input channels: binarising RGB destroys the image);
* the exchange units' 1x1 up-projections (they run at the lower resolution, so they cost few
  MACs, and keep the information exchanged between branches real-valued);
* the 1x1 convs inside real-valued shortcuts where the width changes (Bi-Real's recipe);
* the 1x1 head that predicts the heatmaps (the output must be real-valued).

Binary widths are LCE-friendly when the branch widths are multiples of 32 (W32: 32/64/128/256)
and MS-Block splits stay multiples of 8. W18 builds and converts too, with less efficient
bit-packing (18 is not a multiple of 32).
"""

from __future__ import annotations

import tensorflow as tf

from tfpose.layers.binary import QuantPolicy
from tfpose.layers.hrnet_blocks import binary_blocks
from tfpose.models.hrnet import HRNetConfig, build_hrnet


def bihrnet(*, width: int = 32, input_size=(256, 192), num_keypoints: int = 17,
            policy: QuantPolicy | None = None, ir_expansion: int = 2, dilations=(1, 2),
            **overrides) -> tf.keras.Model:
    """Binary HRNet-W``width``.

    Args:
      width: channels of the highest-resolution branch (the others: 2x, 4x, 8x).
      input_size: ``(H, W)``, multiples of 32. Output heatmaps are ``H/4 x W/4``.
      num_keypoints: heatmap channels K.
      policy: quantisation of the binary layers (default fully binary; ``policy.stage_one()``
        for the first training stage, ``policy.float_twin()`` for a real-valued twin).
      ir_expansion: width factor inside the IR Bottleneck.
      dilations: the MS-Block's parallel dilation rates.
      overrides: :class:`~tfpose.models.hrnet.HRNetConfig` fields.
    """
    policy = policy or QuantPolicy()
    config = HRNetConfig(width=width, **overrides)
    blocks = binary_blocks(policy, ir_expansion=ir_expansion, dilations=tuple(dilations))
    return build_hrnet(config, blocks, input_size=input_size, num_keypoints=num_keypoints,
                       name=f"bihrnet_w{width}")
