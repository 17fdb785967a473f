"""SimpleBaseline presets (:mod:`tfpose.models.presets`): the authors' COCO configuration (no
training script of its own)."""

from tfpose.models.presets import ModelPreset

# 256x192 crops, Gaussian heatmaps at 1/4 (64x48) with sigma 2 (Xiao et al. 2018).
PAPER = ModelPreset(input_size=(256, 192), sigma=2.0)
PRESETS = {"paper": PAPER}
ZOO_PRESETS = {f"simplebaseline_r{depth}": PAPER for depth in (50, 101, 152)}
