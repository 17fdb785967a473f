"""LitePose presets (:mod:`tfpose.models.presets`): ``training/train_litepose.py``'s model sizes.

Model sizes: small (LitePose-XS widths, 2 blocks per stage, 128x128: the quick demo) and the
released variants xs, s, m, l at their published input sizes (256, 448, 448, 512).
"""

from tfpose.models.presets import ModelPreset

# Bottom-up: heatmaps + tags at 1/4 of the input, heatmaps at 1/2.
STRIDES = (4, 2)
# LitePose trains with Adam at 4e-3 (batch 32 per GPU) and sigma 2 at both output strides.
PAPER = {"epochs": 120, "batch_size": 32, "learning_rate": 4e-3, "sigma": 2.0,
         "output": "bottomup", "strides": STRIDES}
VARIANT_SIZES = {"xs": 256, "s": 448, "m": 448, "l": 512}
PRESETS = {
    # ~900 steps, about 6 minutes on 2 CPU cores (bottom-up heatmaps learn slower than crops)
    "small": ModelPreset(input_size=(128, 128), sigma=2.0, epochs=12, batch_size=16,
                         learning_rate=4e-3, options={"stage_blocks": (2, 2, 2, 2)},
                         output="bottomup", strides=STRIDES),
    **{variant: ModelPreset(input_size=(size, size), **PAPER)
       for variant, size in VARIANT_SIZES.items()},
}
ZOO_PRESETS = {f"litepose_{variant}": PRESETS[variant] for variant in VARIANT_SIZES}
