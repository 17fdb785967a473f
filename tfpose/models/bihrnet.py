"""BiHRNet: binary HRNet for pose estimation (arXiv 2311.10296).

What the paper states, and this model takes from it: weights and activations are +-1 while
HRNet's parallel multi-resolution branches are kept (a binary HRNet); an **IR Bottleneck**
(information reconstruction) in the first stage keeps information; an **MS-Block** is a
multi-scale basic block; the student is trained with the **KL divergence** to a real-valued
HRNet teacher's outputs plus the **AWing** loss to the ground truth. Reported: MPII PCKh@0.5
87.9, COCO val AP 70.8. There is no public code, and the paper does not publish the blocks'
insides, the KL temperature and weighting, the input size or the schedule.

Everything else is ours, configurable, and named as ours where it is documented:

* the blocks' insides (:mod:`tfpose.layers.hrnet_blocks`: what the IR Bottleneck expands and
  reconstructs, the MS-Block's parallel dilations);
* the binary conv unit (:func:`tfpose.layers.binary.binary_conv_unit`): a real-valued shortcut
  around every binary conv and BatchNorm after it (Bi-Real Net's recipe: the real-valued path
  carries what one bit per value cannot), ReActNet's learnable per-channel shift before the sign
  and RPReLU after the sum (``QuantPolicy.learnable_shift``, ``activation``: they let each
  channel learn where the sign cuts and how the activation bends, which a fixed sign at 0 cannot;
  ``QuantPolicy(learnable_shift=False, activation="none")`` removes them);
* binary 3x3 units in the transitions and the exchange units' down-sampling paths (HRNet's
  convs there, binarised like the rest);
* the loss's settings: KL at temperature 0.1 without T², weight 0.05 (balanced by gradient,
  :mod:`tfpose.losses.distillation`);
* the training (``training/train_bihrnet.py``): two stages, binary activations with real
  weights first and then both binary (ReActNet's and Martinez et al.'s two-step recipe: a
  network that has adapted to sign activations loses less when its weights are binarised too),
  Adam with cosine decay over each phase (no milestones to fit to a phase's length, from the
  minutes-long quick start to 100 epochs; it ends at 1% of the peak rate, so the last steps
  settle the latent weights near their sign flips), and the input sizes of
  :mod:`tfpose.models.bihrnet_presets` (HRNet's).

Layers that stay real-valued (ours), and why:

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
