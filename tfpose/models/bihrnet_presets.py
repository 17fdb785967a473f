"""BiHRNet presets (:mod:`tfpose.models.presets`): ``training/train_bihrnet.py``'s model sizes.

The paper's configuration is HRNet's (:mod:`tfpose.models.hrnet_presets`), which it distils.
"""

from dataclasses import replace

from tfpose.models import hrnet_presets
from tfpose.models.presets import ModelPreset

# small: HRNet with one exchange module per stage and one block per branch, width 16, at 96x64
# (24x16 heatmaps, sigma 1.5): teacher 900 steps, stages 600 each, ~8 minutes on 2 CPU cores.
SMALL = {"width": 16, "modules": (1, 1, 1), "branch_blocks": 1, "stage1_blocks": 1}
PAPER = replace(hrnet_presets.PAPER, epochs=100, batch_size=32, learning_rate=1e-3,
                options={"width": 32})
PRESETS = {
    "small": ModelPreset(input_size=(96, 64), sigma=1.5, epochs=4, batch_size=16,
                         learning_rate=2e-3, options=SMALL),
    "paper": PAPER,
}
ZOO_PRESETS = {"bihrnet_w18": replace(PAPER, options={"width": 18}), "bihrnet_w32": PAPER}
