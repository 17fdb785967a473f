"""SimpleBaseline presets (:mod:`tfpose.models.presets`): the authors' COCO configuration (no
training script of its own)."""

from tfpose.models.presets import ModelPreset

# 256x192 crops, Gaussian heatmaps at 1/4 (64x48) with sigma 2 (Xiao et al. 2018); their
# augmentation (human-pose-estimation.pytorch, experiments/coco/resnet50/*.yaml): ROT_FACTOR 40,
# SCALE_FACTOR 0.3, flip, no half-body crops (their code has none).
PAPER = ModelPreset(input_size=(256, 192), sigma=2.0, augment={
    "rotation_factor": 40.0, "scale_factor": 0.3, "half_body_prob": 0.0})
PRESETS = {"paper": PAPER}
ZOO_PRESETS = {f"simplebaseline_r{depth}": PAPER for depth in (50, 101, 152)}
