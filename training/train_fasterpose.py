r"""Train FasterPose: heatmap logits from low-resolution features, regressive cross-entropy
(Dai et al., arXiv 2107.03215; our reading of the design is in tfpose.models.fasterpose).

    python training/train_fasterpose.py         # synthetic data, small input, a few minutes

The model predicts sigmoid logits at 1/8 of the input (sigma-1 Gaussian targets) and is trained
with RCE, the sigmoid cross-entropy against the soft targets (--loss mse: plain heatmap
regression instead, the ablation of benchmarks/ablations.py; the head's initial bias follows the
loss: the sigmoid prior logit(0.01) = -4.6 for RCE, 0 for MSE). The run folder (--out, default
runs/fasterpose) gets per-epoch checkpoints, TensorBoard logs, the best model, metrics.json
(the untrained model next to the trained one), predictions.png, curves.png and model.keras.

Real data at the paper's size:
    python training/train_fasterpose.py --data coco --data-root /data/coco --model-size paper \
        --epochs 140 --batch-size 64 --strategy mirrored
"""

from __future__ import annotations

import sys

import tfpose  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
from tfpose.engine import report, topdown
from tfpose.engine.flags import parse_args, train_config, training_parser
from tfpose.engine.models import build_model
from tfpose.engine.run import MODEL_FILE, run_main, start_run
from tfpose.evaluation.topdown import TopDownEvaluator
from tfpose.losses.heatmap import KeypointMSE, RegressiveCrossEntropy
from tfpose.models.fasterpose_presets import PRESETS


def main(argv=None):
    parser = training_parser(__doc__, method="fasterpose", presets=PRESETS, init=True)
    parser.add_argument("--loss", choices=("rce", "mse"), default="rce",
                        help="rce: FasterPose's loss on sigmoid logits (default); mse: plain "
                             "heatmap regression of the same outputs (the ablation)")
    args = parse_args(parser, argv)
    run = start_run(args, "fasterpose")
    data = topdown.load_topdown_data(args)
    rce = args.loss == "rce"
    # At the preset's stride (1/8); --loss mse regresses the same outputs as Gaussian heatmaps.
    codec = topdown.heatmap_codec(args, output=args.preset.output if rce else "gaussian")
    evaluator = TopDownEvaluator(data.files, data.val, codec, eager=args.run_eagerly)

    # The head's initial bias follows the loss (tfpose.models.fasterpose.initial_head_bias).
    model = build_model(run, "fasterpose", args, data.num_keypoints, init=args.init,
                        output_stride=args.preset.stride, output=codec.output)
    baseline = evaluator(model)  # untrained (or only its backbone from --init)
    loss = RegressiveCrossEntropy() if rce else KeypointMSE()
    phase = topdown.fit_heatmap_model(run, "train", model, loss, data, codec,
                                      train_config(args), evaluator,
                                      save_as=run.out / MODEL_FILE)

    report.trained_vs_untrained(run, evaluator, phase, baseline,
                                f"FasterPose ({args.loss.upper()})")


if __name__ == "__main__":
    sys.exit(run_main(main))
