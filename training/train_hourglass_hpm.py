r"""Train the binary hourglass with HPM blocks (Bulat & Tzimiropoulos, ICCV 2017).

    python training/train_hourglass_hpm.py      # synthetic data, small model, a few minutes

One fully binary hourglass trained with sigmoid cross-entropy against Gaussian heatmaps (the
paper's finding: it beats L2 for binary networks). The paper trains on MPII's 16 joints; the
number of keypoints follows --data (synthetic and COCO: 17, CrowdPose: 14). The run folder
(--out, default runs/hourglass_hpm) gets per-epoch checkpoints, TensorBoard logs, the best model,
metrics.json (the untrained model next to the trained one), predictions.png, curves.png and
model.keras.

Model variants (the ablations of benchmarks/ablations.py); each flag sets the model option named
after it, so --model-option KEY=VALUE does the same and a resumed run checks them:
  --block bottleneck     the plain binary bottleneck instead of the HPM block (the paper's
                         baseline); at the HPM model's parameter count with --model-option
                         channels=176 (small preset) or channels=352 (paper preset)
  --weights plain        +-1 binary weights instead of +-alpha per filter (weights=scaled, the
                         default: XNOR-Net's scale, as the paper's binary conv)
  --relu-after-conv      a ReLU after every binary conv (relu_after_conv=True; the paper: +2 %)
  --stacks N             N hourglasses in a row (stacks=N) with intermediate supervision: the
                         loss on every stack's heatmaps, logged per stack (s0_heatmaps_loss, ...,
                         heatmaps_loss); validation, model.keras and conversion use the last
                         stack's heatmaps

From the paper (the paper preset, tfpose/models/hourglass_presets.py): one binary hourglass of
HPM blocks with per-filter scaled binary weights, MPII at 256x256 crops with 64x64 heatmaps,
sigmoid cross-entropy, rotation +-40 degrees, scale 0.7-1.3, flips, no half-body crops. Ours
(the paper does not say, or we did not check it): the augmentation's distributions (clipped
normals within those ranges), sigma 1 targets (Newell's), Adam at 1e-3 with cosine decay, batch
32, 100 epochs, and the inter-stack wiring of --stacks (Newell's).
MPII at the paper's size (PCKh@0.5 needs <root>/annot/gt_valid.mat):
    python training/train_hourglass_hpm.py --data mpii --data-root /data/mpii \
        --model-size paper --epochs 100 --batch-size 32
"""

from __future__ import annotations

import logging
import sys

import tfpose  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
from tfpose.argtypes import positive_int
from tfpose.codecs.model_info import topdown_info
from tfpose.engine import report, topdown
from tfpose.engine.flags import parse_args, train_config, training_parser
from tfpose.engine.models import build_model
from tfpose.engine.optimizers import make_optimizer
from tfpose.engine.run import MODEL_FILE, run_main, start_run
from tfpose.engine.training import steps_per_epoch, train_phase, validation_of, without_autograph
from tfpose.evaluation.topdown import TopDownEvaluator
from tfpose.layers.binary import KERNEL_SIGNS
from tfpose.losses.heatmap import SigmoidCrossEntropy
from tfpose.models.hourglass import stack_outputs
from tfpose.models.hourglass_presets import PRESETS

BLOCKS = {"hpm": "hourglass_hpm", "bottleneck": "hourglass_bottleneck_binary"}
# flag attribute -> the model option it sets
OPTION_FLAGS = {"weights": "weights", "relu_after_conv": "relu_after_conv", "stacks": "stacks"}

log = logging.getLogger("tfpose")


def main(argv=None):
    parser = training_parser(__doc__, method="hourglass_hpm", presets=PRESETS)
    parser.add_argument("--block", choices=sorted(BLOCKS), default="hpm",
                        help="residual block: hpm (default) or the plain binary bottleneck, "
                             "the paper's baseline")
    parser.add_argument("--weights", choices=sorted(KERNEL_SIGNS),
                        help="binary weights: scaled (+-alpha per filter, the default) or "
                             "plain (+-1)")
    parser.add_argument("--relu-after-conv", action="store_true", default=None,
                        help="a ReLU after every binary conv of the blocks")
    parser.add_argument("--stacks", type=positive_int,
                        help="hourglasses in a row, with the loss on every one (default: 1)")
    args = parse_args(parser, argv)
    args.model_options = options_with_flags(parser, args)
    run = start_run(args, "hourglass_hpm")
    if args.optimizer == "bop" and args.model_options.get("weights", "scaled") == "scaled":
        log.warning("--optimizer bop stores the binary kernels as +-1 signs: each filter's "
                    "scale alpha becomes 1 and scaled weights train as plain ones (use adam)")
    data = topdown.load_topdown_data(args)
    codec = topdown.heatmap_codec(args)  # the preset's: sigmoid logits
    evaluator = TopDownEvaluator(data.files, data.val, codec, eager=args.run_eagerly)

    model = build_model(run, BLOCKS[args.block], args, data.num_keypoints)
    baseline = evaluator(model)  # untrained
    phase = fit_stacks(run, model, data, codec, train_config(args), evaluator)

    report.trained_vs_untrained(run, evaluator, phase, baseline,
                                f"binary {args.block} hourglass")


def options_with_flags(parser, args) -> dict:
    """The model options with the variant flags' (a flag and a --model-option that disagree
    are an error); the flags are removed from ``args``."""
    options = dict(args.model_options)
    for attr, key in OPTION_FLAGS.items():
        value = getattr(args, attr)
        delattr(args, attr)
        if value is None:
            continue
        if key in options and options[key] != value:
            parser.error(f"--{attr.replace('_', '-')} {value} disagrees with --model-option "
                         f"{key}={options[key]}")
        options[key] = value
    return options


def fit_stacks(run, model, data, codec, config, evaluator):
    """Train ``model`` with sigmoid cross-entropy on every stack's heatmaps (intermediate
    supervision; one stack: its output) on crops augmented with ``data.augment`` (the preset's);
    validate and save ``model`` itself, whose output is the last stack's heatmaps."""
    steps = steps_per_epoch(config, len(data.train))
    with run.strategy.scope():
        trained = stack_outputs(model)
        trained.compile(make_optimizer(config, steps * config.epochs),
                        loss=SigmoidCrossEntropy(), run_eagerly=config.run_eagerly)
    for each in {id(m): m for m in (trained, model)}.values():
        without_autograph(each)
    log.info("training %s on %d heatmap output(s)", model.name, len(trained.outputs))
    batches = topdown.train_data(data, codec, config.batch_size, run.seed)
    return train_phase(run, "train", trained, batches, epochs=config.epochs,
                       steps_per_epoch=steps, deployable=model,
                       validation=validation_of(evaluator), save_as=run.out / MODEL_FILE,
                       info=topdown_info(codec, data.train.keypoint_set, model.name))


if __name__ == "__main__":
    sys.exit(run_main(main))
