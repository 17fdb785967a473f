"""Binary hourglass presets (:mod:`tfpose.models.presets`): ``training/train_hourglass_hpm.py``'s
model sizes, for both blocks (HPM and the plain binary bottleneck), and their augmentation.

``paper`` is the training setup of Bulat & Tzimiropoulos (ICCV 2017), what the paper says and
what we chose where it does not say:

* data: MPII at 256x256 crops, 64x64 heatmaps of its 16 joints (the paper); Gaussian targets of
  sigma 1 heatmap pixel (Newell et al.'s hourglass targets, which the paper trains on);
* loss: sigmoid cross-entropy on the heatmap logits (the paper: better than L2 for binary nets);
* augmentation (the preset's ``augment``): rotation within +-40 degrees, scale within 0.7-1.3 and
  horizontal flips (the paper's ranges), no half-body crops (the paper has none). The paper gives
  the ranges, not the distributions: we keep the pipeline's clipped normals with those ranges
  as the clip bounds (rotation N(0, 20 degrees) clipped at +-40, on 60 % of the crops; scale
  1 + N(0, 0.3) clipped to [0.7, 1.3]) and flip half of the crops;
* model: one hourglass of HPM blocks, width 256 (the paper's ~1.3 MB model), binary weights
  scaled per filter (the paper's binary conv), no ReLU after the convs (:mod:`.hourglass`);
* optimiser: Adam at 1e-3, batch 32, 100 epochs with a cosine decay: our choice, not the
  paper's (not checked here).

``small`` (the default run: synthetic figures, minutes on a CPU) keeps the pipeline's default
augmentation (:class:`tfpose.config.AugmentConfig`, with half-body crops).

Matched parameter counts for the HPM-vs-bottleneck comparison (``--block bottleneck
--model-option channels=N``, :mod:`tfpose.models.hourglass` lists them with their counts):

=======  =====================  ==============================  ==================
preset   HPM channels (params)  bottleneck channels (params)    difference
=======  =====================  ==============================  ==================
small    128 (1.33 M)           176 (1.37 M)                    +3.1 %
paper    256 (6.79 M)           352 (6.99 M)                    +3.0 %
=======  =====================  ==============================  ==================
"""

from tfpose.models.presets import ModelPreset

PRESETS = {
    # 128 channels (a multiple of 128, LCE-friendly), a three-level hourglass at 64x64 input.
    "small": ModelPreset(input_size=(64, 64), sigma=1.0, epochs=4, batch_size=16,
                         learning_rate=2e-3, options={"channels": 128, "depth": 3,
                                                      "pre_blocks": 1}, output="sigmoid"),
    # 256x256 crops, 64x64 heatmaps with sigma 1 (Newell et al.'s hourglass targets), trained
    # as sigmoid logits with cross-entropy (Bulat & Tzimiropoulos).
    "paper": ModelPreset(input_size=(256, 256), sigma=1.0, epochs=100, batch_size=32,
                         learning_rate=1e-3, output="sigmoid", augment={
                             "scale_factor": 0.3, "rotation_factor": 20.0, "rotation_prob": 0.6,
                             "flip_prob": 0.5, "half_body_prob": 0.0}),
}
# Bottleneck widths with the HPM model's parameter count (within 5 %), per preset.
MATCHED_BOTTLENECK_CHANNELS = {"small": 176, "paper": 352}
ZOO_PRESETS = {"hourglass_hpm": PRESETS["paper"],
               "hourglass_bottleneck_binary": PRESETS["paper"]}
