r"""Train LitePose, bottom-up multi-person pose estimation (Wang et al., CVPR 2022).

    python training/train_litepose.py           # synthetic data, small model, a few minutes

No person detector: the network sees whole images and predicts K heatmaps + K associative-
embedding tags at 1/4 of the input and K heatmaps at 1/2; persons are grouped by their tags
(tfpose.codecs.grouping). Loss: masked heatmap MSE at both strides + the AE loss
(pull and "exp" push, weights 1e-3) on the 1/4 tags, Adam. The run folder (--out, default
runs/litepose) gets per-epoch checkpoints, TensorBoard logs, the best model, metrics.json (the
untrained model next to the trained one), predictions.png, curves.png and model.keras.

Model sizes (--model-size): small (LitePose-XS widths, 2 blocks per stage, 128x128: the quick
demo, cosine schedule) and the released variants xs, s, m, l at their published input sizes
(256, 448, 448, 512, for CrowdPose and COCO alike) with the authors' recipe: 500 epochs, Adam at
4e-3 dropped x0.1 at epochs 350 and 480, batch 16 (one GPU), no weight decay, sigma 2, scale
0.75-1.5 / rotation 30 / translation 0.2 of the crop / flip (tfpose.models.litepose_presets,
which names the authors' files); paper = s. The paper's ablations: --model-option
kernel_size=3|5|9 (7 is LitePose's) and --model-option head=plain (a plain deconv head).

CrowdPose at LitePose-S's size with the authors' recipe (COCO: --data coco):
    python training/train_litepose.py --data crowdpose --data-root /data/crowdpose \
        --model-size s
On several GPUs the authors' loader takes 16 images per GPU at the same learning rate:
    ... --model-size s --batch-size 64 --strategy mirrored          # 4 GPUs
The former recipe (120 epochs of cosine decay at batch 32):
    ... --model-size s --epochs 120 --schedule cosine --batch-size 32
"""

from __future__ import annotations

import sys

import tfpose  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
from tfpose.engine import bottomup, report
from tfpose.engine.flags import parse_args, train_config, training_parser
from tfpose.engine.models import build_model
from tfpose.engine.run import MODEL_FILE, run_main, start_run
from tfpose.models.litepose_presets import PAPER_VARIANT, PRESETS

VARIANT = {"small": "xs", "xs": "xs", "s": "s", "m": "m", "l": "l", "paper": PAPER_VARIANT}


def main(argv=None):
    parser = training_parser(__doc__, method="litepose", presets=PRESETS, init=True)
    args = parse_args(parser, argv)
    run = start_run(args, "litepose")
    data = bottomup.load_bottomup_data(args)
    codec = bottomup.bottomup_codec(args)
    evaluator = bottomup.bottomup_evaluator(data, codec)
    name = f"LitePose-{VARIANT[args.model_size].upper()}"

    model = build_model(run, f"litepose_{VARIANT[args.model_size]}", args, data.num_keypoints,
                        init=args.init)
    baseline = evaluator(model)  # untrained, or the --init weights
    phase = bottomup.fit_bottomup_model(run, "train", model, data, codec, train_config(args),
                                        evaluator, save_as=run.out / MODEL_FILE)

    report.trained_vs_untrained(run, evaluator, phase, baseline, name)


if __name__ == "__main__":
    sys.exit(run_main(main))
