"""Binary hourglass presets (:mod:`tfpose.models.presets`): ``training/train_hourglass_hpm.py``'s
model sizes, for both blocks (HPM and the plain binary bottleneck)."""

from tfpose.models.presets import ModelPreset

PRESETS = {
    # 128 channels (a multiple of 128, LCE-friendly), a three-level hourglass at 64x64 input.
    "small": ModelPreset(input_size=(64, 64), sigma=1.0, epochs=4, batch_size=16,
                         learning_rate=2e-3, options={"channels": 128, "depth": 3,
                                                      "pre_blocks": 1}, output="sigmoid"),
    # 256x256 crops, 64x64 heatmaps with sigma 1 (Newell et al.'s hourglass targets), trained
    # as sigmoid logits with cross-entropy (Bulat & Tzimiropoulos).
    "paper": ModelPreset(input_size=(256, 256), sigma=1.0, epochs=100, batch_size=32,
                         learning_rate=1e-3, output="sigmoid"),
}
ZOO_PRESETS = {"hourglass_hpm": PRESETS["paper"],
               "hourglass_bottleneck_binary": PRESETS["paper"]}
