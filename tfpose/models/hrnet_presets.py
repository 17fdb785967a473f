"""HRNet presets (:mod:`tfpose.models.presets`): the authors' COCO configuration.

HRNet trains as BiHRNet's teacher, with ``training/train_bihrnet.py``'s presets
(:mod:`tfpose.models.bihrnet_presets`); it has no training script of its own.
"""

from tfpose.models.presets import ModelPreset

# 256x192 crops, Gaussian heatmaps at 1/4 (64x48) with sigma 2 (Sun et al. 2019).
PAPER = ModelPreset(input_size=(256, 192), sigma=2.0)
PRESETS = {"paper": PAPER}
ZOO_PRESETS = {f"hrnet_w{width}": PAPER for width in (18, 32, 48)}
