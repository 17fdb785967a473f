"""LitePose presets (:mod:`tfpose.models.presets`): ``training/train_litepose.py``'s model sizes.

Model sizes: ``small`` (LitePose-XS widths, 2 blocks per stage, 128x128: the quick demo), the
released variants ``xs``, ``s``, ``m``, ``l`` with the authors' recipe, and ``paper``: the same as
``s`` (LitePose-S, 448x448), so that ``--model-size paper`` means the published configuration
here as in the other training scripts.

The authors' recipe (mit-han-lab/litepose: ``experiments/{coco,crowd_pose}/mobilenet/mobile.yaml``
with the variant's ``mobile_configs/search-{XS,S,M,L}.json``, trained by ``dist_train.py``):

* 500 epochs, Adam at 4e-3, x0.1 at epochs 350 and 480 (``MultiStepLR`` stepped per epoch:
  the ``step`` schedule of :mod:`tfpose.engine.optimizers`);
* 16 images per GPU (``IMAGES_PER_GPU: 16``, ``GPUS: (0,)``: one GPU, so a global batch of 16;
  their loader's batch is 16 x the GPUs listed, at the same learning rate);
* no weight decay: the configs set ``WD: 1e-4``, but their ``get_optimizer`` passes it to SGD
  only and builds Adam with the learning rate alone;
* sigma 2 at both output strides (1/4 and 1/2);
* augmentation: scale U(0.75, 1.5) of the short side, rotation U(-30, 30), translation
  ``MAX_TRANSLATE: 40`` (HigherHRNet's units: 40 / 200 of the crop side), flip 0.5: the defaults
  of :class:`tfpose.data.bottomup.BottomUpAugmentConfig`, which the bottom-up trainer uses;
* input size per variant, from ``img_size`` of the search results: XS 256, S 448, M 448,
  L 512 for both CrowdPose and COCO (the same ``mobile_configs`` serve both datasets; the README
  asks to set the config's input size to the architecture's before training).

The former recipe (120 epochs, cosine decay, batch 32) stays one command away:
``--epochs 120 --schedule cosine --batch-size 32``.
"""

from tfpose.models.presets import ModelPreset

# Bottom-up: heatmaps + tags at 1/4 of the input, heatmaps at 1/2.
STRIDES = (4, 2)
PAPER = {"epochs": 500, "batch_size": 16, "learning_rate": 4e-3, "schedule": "step",
         "lr_steps": (350, 480), "sigma": 2.0, "output": "bottomup", "strides": STRIDES}
VARIANT_SIZES = {"xs": 256, "s": 448, "m": 448, "l": 512}  # img_size of search-{XS,S,M,L}
PAPER_VARIANT = "s"  # the variant of --model-size paper
PRESETS = {
    # ~900 steps, about 6 minutes on 2 CPU cores (bottom-up heatmaps learn slower than crops)
    "small": ModelPreset(input_size=(128, 128), sigma=2.0, epochs=12, batch_size=16,
                         learning_rate=4e-3, options={"stage_blocks": (2, 2, 2, 2)},
                         output="bottomup", strides=STRIDES),
    **{variant: ModelPreset(input_size=(size, size), **PAPER)
       for variant, size in VARIANT_SIZES.items()},
}
PRESETS["paper"] = PRESETS[PAPER_VARIANT]
ZOO_PRESETS = {f"litepose_{variant}": PRESETS[variant] for variant in VARIANT_SIZES}
