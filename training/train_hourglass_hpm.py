r"""Train the binary hourglass with HPM blocks (Bulat & Tzimiropoulos, ICCV 2017).

    python training/train_hourglass_hpm.py      # synthetic data, small model, a few minutes

One fully binary hourglass trained with sigmoid cross-entropy against Gaussian heatmaps (the
paper's finding: it beats L2 for binary networks); --block bottleneck swaps the HPM blocks for
the plain binary bottleneck (the paper's baseline, an ablation of benchmarks/ablations.py). The
paper trains on MPII's 16 joints; the number of keypoints follows --data (synthetic and COCO:
17, CrowdPose: 14). The run folder (--out, default runs/hourglass_hpm) gets per-epoch
checkpoints, TensorBoard logs, the best model, metrics.json (the untrained model next to the
trained one), predictions.png, curves.png and model.keras.

MPII at the paper's size (PCKh@0.5 needs <root>/annot/gt_valid.mat):
    python training/train_hourglass_hpm.py --data mpii --data-root /data/mpii \
        --model-size paper --epochs 100 --batch-size 32
"""

from __future__ import annotations

import sys

import tfpose  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
from tfpose.engine import report, topdown
from tfpose.engine.flags import parse_args, train_config, training_parser
from tfpose.engine.models import build_model
from tfpose.engine.run import MODEL_FILE, run_main, start_run
from tfpose.evaluation.topdown import TopDownEvaluator
from tfpose.losses.heatmap import SigmoidCrossEntropy
from tfpose.models.hourglass_presets import PRESETS

BLOCKS = {"hpm": "hourglass_hpm", "bottleneck": "hourglass_bottleneck_binary"}


def main(argv=None):
    parser = training_parser(__doc__, method="hourglass_hpm", presets=PRESETS)
    parser.add_argument("--block", choices=sorted(BLOCKS), default="hpm",
                        help="residual block: hpm (default) or the plain binary bottleneck, "
                             "the paper's baseline")
    args = parse_args(parser, argv)
    run = start_run(args, "hourglass_hpm")
    data = topdown.load_topdown_data(args)
    codec = topdown.heatmap_codec(args)  # the preset's: sigmoid logits
    evaluator = TopDownEvaluator(data.files, data.val, codec, eager=args.run_eagerly)

    model = build_model(run, BLOCKS[args.block], args, data.num_keypoints)
    baseline = evaluator(model)  # untrained
    phase = topdown.fit_heatmap_model(run, "train", model, SigmoidCrossEntropy(), data, codec,
                                      train_config(args), evaluator,
                                      save_as=run.out / MODEL_FILE)

    report.trained_vs_untrained(run, evaluator, phase, baseline,
                                f"binary {args.block} hourglass")


if __name__ == "__main__":
    sys.exit(run_main(main))
