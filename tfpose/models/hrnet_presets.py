"""HRNet presets (:mod:`tfpose.models.presets`): the authors' COCO and MPII configurations.

HRNet trains as BiHRNet's teacher, with ``training/train_bihrnet.py``'s presets
(:mod:`tfpose.models.bihrnet_presets`); it has no training script of its own.

From deep-high-resolution-net.pytorch, ``experiments/coco/hrnet/w32_256x192_adam_lr1e-3.yaml``
and ``experiments/mpii/hrnet/w32_256x256_adam_lr1e-3.yaml``:

* COCO: 256x192 crops, Gaussian heatmaps at 1/4 (64x48) with sigma 2; augmentation
  ``ROT_FACTOR: 45``, ``SCALE_FACTOR: 0.35``, half-body crops with ``PROB_HALF_BODY: 0.3``
  (persons with more than 8 labelled joints), flip;
* MPII: 256x256 crops, 64x64 heatmaps, sigma 2; ``ROT_FACTOR: 30``, ``SCALE_FACTOR: 0.25``, no
  half-body crops (``PROB_HALF_BODY: -1``), flip.

Their sampling is :class:`tfpose.config.AugmentConfig`'s: rotation N(0, factor) clipped at twice
the factor on 60 % of the crops, scale 1 + N(0, factor) clipped to 1 +- factor.
"""

from dataclasses import replace

from tfpose.models.presets import ModelPreset

PAPER = ModelPreset(input_size=(256, 192), sigma=2.0, augment={
    "rotation_factor": 45.0, "scale_factor": 0.35, "half_body_prob": 0.3})
MPII = replace(PAPER, input_size=(256, 256), augment={
    "rotation_factor": 30.0, "scale_factor": 0.25, "half_body_prob": 0.0})
PRESETS = {"paper": PAPER}
ZOO_PRESETS = {f"hrnet_w{width}": PAPER for width in (18, 32, 48)}
