"""BiHRNet presets (:mod:`tfpose.models.presets`): ``training/train_bihrnet.py``'s model sizes.

The paper's configuration is HRNet's (:mod:`tfpose.models.hrnet_presets`), which it distils.
BiHRNet reports COCO val and MPII PCKh@0.5 but publishes neither input sizes nor a training
schedule, so each dataset gets the protocol of the HRNet it binarises (deep-high-resolution-
net.pytorch, ``experiments/{coco,mpii}/hrnet/w32_*_adam_lr1e-3.yaml``):

* ``paper``: COCO, 256x192 crops, 64x48 heatmaps, sigma 2;
* ``mpii``: MPII, 256x256 crops, 64x64 heatmaps of the 16 joints, sigma 2, scored by PCKh@0.5
  on the official ``gt_valid.mat`` with flip test (the evaluator's default; train with
  ``--data mpii --data-root DIR --model-size mpii``).

Each trains with that HRNet's augmentation (:mod:`tfpose.models.hrnet_presets`): COCO rotation
45, scale 0.35 and half-body crops; MPII rotation 30, scale 0.25 and none. The training defaults
of both (100 epochs, batch 32, Adam at 1e-3 with cosine decay, for the teacher and each of the
two stages) are ours, not HRNet's 210 epochs with x0.1 steps at 170 and 200 (``--epochs 210
--schedule step --lr-steps 170 200`` gives that schedule, per phase).
"""

from dataclasses import replace

from tfpose.models import hrnet_presets
from tfpose.models.presets import ModelPreset

# small: HRNet with one exchange module per stage and one block per branch, width 16, at 96x64
# (24x16 heatmaps, sigma 1.5): teacher 900 steps, stages 600 each, ~8 minutes on 2 CPU cores.
SMALL = {"width": 16, "modules": (1, 1, 1), "branch_blocks": 1, "stage1_blocks": 1}
PAPER = replace(hrnet_presets.PAPER, epochs=100, batch_size=32, learning_rate=1e-3,
                options={"width": 32})
# HRNet's MPII protocol: square crops, heatmaps at 1/4 (64x64), sigma 2, MPII's augmentation.
MPII = replace(PAPER, input_size=hrnet_presets.MPII.input_size,
               augment=hrnet_presets.MPII.augment)
PRESETS = {
    "small": ModelPreset(input_size=(96, 64), sigma=1.5, epochs=4, batch_size=16,
                         learning_rate=2e-3, options=SMALL),
    "paper": PAPER,
    "mpii": MPII,
}
ZOO_PRESETS = {"bihrnet_w18": replace(PAPER, options={"width": 18}), "bihrnet_w32": PAPER}
