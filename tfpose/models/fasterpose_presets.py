"""FasterPose presets (:mod:`tfpose.models.presets`): ``training/train_fasterpose.py``'s model
sizes. The model predicts sigmoid logits at 1/8 of the input (sigma-1 Gaussian targets: 8 input
pixels, as SimpleBaseline's sigma 2 at 1/4), :mod:`tfpose.models.fasterpose`."""

from tfpose.models.presets import ModelPreset

STRIDES = (8,)  # FasterPose's low-resolution heatmaps
PRESETS = {
    # ResNet-50 is the smallest backbone the model offers; at 128x96 a step of 16 crops costs
    # about 1 s on 2 CPU cores. A thinner head keeps the demo quick.
    "small": ModelPreset(input_size=(128, 96), sigma=1.0, epochs=3, batch_size=16,
                         learning_rate=1e-3, options={"head_width": 128}, output="sigmoid",
                         strides=STRIDES),
    "paper": ModelPreset(input_size=(256, 192), sigma=1.0, epochs=140, batch_size=32,
                         learning_rate=1e-3, output="sigmoid", strides=STRIDES),
}
ZOO_PRESETS = {"fasterpose": PRESETS["paper"]}
