r"""Train BiHRNet, a binary HRNet, by distillation from a real-valued HRNet (arXiv 2311.10296).

    python training/train_bihrnet.py    # the quick start: synthetic data, ~8 min on 2 CPU cores

From the paper: the binary HRNet with its IR Bottleneck and MS-Block, distilled from a
real-valued HRNet with KL(teacher || student) + AWing. Ours (the paper does not publish them):
the blocks' insides, the KL temperature and weights, the two training stages below (ReActNet's
two-step recipe: the network first adapts to sign activations with real weights, so that
binarising the weights too costs less), Adam with cosine decay over each phase (no milestones
to fit to a phase's length), and the input sizes (HRNet's).

Phases, each checkpointed per epoch in the run folder (--out, default runs/bihrnet):
  teacher  real-valued HRNet trained with AWing (--init PATH starts it from an ImageNet
           HRNet); skipped with --teacher PATH: a .keras model or a published checkpoint
           (e.g. the HRNet authors' pose_hrnet_w32_256x192.pth, imported on the fly)
  stage1   BiHRNet with binary activations and real weights, KL(teacher) + AWing (ours)
  stage2   the fully binary BiHRNet, initialised from stage 1, KL(teacher) + AWing
(--kl-weight 0 trains without distillation, --loss mse with MSE instead of AWing: the ablations
of benchmarks/ablations.py.)
Then it evaluates an untrained BiHRNet (baseline), the teacher and both stages on the
validation split, prints the table, writes metrics.json, predictions.png and curves.png, and
saves the binary student as <out>/model.keras (runs/bihrnet/model.keras is what
`python convert/to_lce.py` converts by default).

Real data at HRNet's sizes (tfpose.models.bihrnet_presets): COCO at 256x192, MPII at 256x256
(64x64 heatmaps, PCKh@0.5 with flip test on annot/gt_valid.mat):
    python training/train_bihrnet.py --data coco --data-root /data/coco --model-size paper \
        --epochs 100 --batch-size 64 --strategy mirrored
    python training/train_bihrnet.py --data mpii --data-root /data/mpii --model-size mpii
"""

from __future__ import annotations

import sys

import tfpose  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
from tfpose.argtypes import positive_int
from tfpose.config import DistillConfig
from tfpose.engine import report, topdown
from tfpose.engine.distiller import transfer_weights
from tfpose.engine.flags import parse_args, train_config, training_parser
from tfpose.engine.models import build_model, load_model
from tfpose.engine.run import MODEL_FILE, run_main, start_run
from tfpose.evaluation.topdown import TopDownEvaluator
from tfpose.layers.binary import QuantPolicy
from tfpose.losses.heatmap import AdaptiveWingLoss, KeypointMSE
from tfpose.models.bihrnet_presets import PRESETS

GROUND_TRUTH_LOSSES = {"awing": AdaptiveWingLoss, "mse": KeypointMSE}


def main(argv=None):
    parser = training_parser(__doc__, method="bihrnet", presets=PRESETS, teacher=True,
                             init=True)
    parser.add_argument("--teacher-epochs", type=positive_int, help="default: 1.5 x --epochs")
    parser.add_argument("--kl-weight", type=float, default=DistillConfig.kl_weight,
                        help="weight of the KL term (default %(default)s: about half of the "
                             "gradient reaching the student's heatmaps at the start of stage 1; "
                             "0 trains without distillation; tfpose.losses.distillation)")
    parser.add_argument("--awing-weight", type=float, default=DistillConfig.heatmap_weight,
                        help="weight of the ground-truth term (AWing, or MSE with --loss mse)")
    parser.add_argument("--loss", choices=sorted(GROUND_TRUTH_LOSSES), default="awing",
                        help="ground-truth heatmap loss of teacher and students (default: "
                             "BiHRNet's awing; mse for the ablation)")
    parser.add_argument("--temperature", type=float, default=DistillConfig.temperature,
                        help="KL temperature (default %(default)s). At T < 1 the KL's gradient "
                             "scales as 1/T: scale --kl-weight with T to keep its share")
    parser.add_argument("--kl-t2", action="store_true",
                        help="multiply the KL by T^2 (Hinton et al.: right for logits at T >= 1, "
                             "not for heatmaps at T = 0.1; tfpose.losses.distillation)")
    args = parse_args(parser, argv)
    run = start_run(args, "bihrnet")
    data = topdown.load_topdown_data(args)
    codec = topdown.heatmap_codec(args)
    evaluator = TopDownEvaluator(data.files, data.val, codec, eager=args.run_eagerly)
    k = data.num_keypoints
    config = train_config(args)
    distill = topdown.distill_config(args.kl_weight, args.awing_weight, args.temperature,
                                     args.kl_t2)
    width = args.model_options.get("width", 32)  # the preset's: 16 under small, 32 under paper
    teacher_name, student_name = f"hrnet_w{width}", f"bihrnet_w{width}"
    loss = GROUND_TRUTH_LOSSES[args.loss]

    if args.teacher:
        # a .keras model, or a published checkpoint imported as the HRNet its shapes say
        teacher = load_model(run, args.teacher, "teacher", input_size=args.input_size,
                             num_keypoints=k)
        teacher_history = []
    else:
        teacher = build_model(run, teacher_name, args, k, init=args.init)  # --init: ImageNet
        # AWing rather than HRNet's MSE: in short schedules it learns much faster (small
        # preset, 600 steps at 128x96: PCK@0.5 0.33 vs 0.21).
        teacher_epochs = args.teacher_epochs or max(1, round(1.5 * args.epochs))
        phase = topdown.fit_heatmap_model(
            run, "teacher", teacher, loss(), data, codec,
            train_config(args, epochs=teacher_epochs), evaluator,
            save_as=run.out / "teacher.keras")
        teacher_history = phase.history

    stage_one = build_model(run, student_name, args, k, policy=QuantPolicy().stage_one())
    stage1 = topdown.train_student(run, "stage1", stage_one, teacher, data, codec, config,
                                   distill, evaluator, heatmap_loss=loss(),
                                   save_as=run.out / "stage1.keras")

    student = build_model(run, student_name, args, k)  # fully binary
    baseline = evaluator(student)  # still untrained: the baseline to beat
    transfer_weights(stage1.model, student)
    stage2 = topdown.train_student(run, "stage2", student, teacher, data, codec, config,
                                   distill, evaluator, heatmap_loss=loss(),
                                   save_as=run.out / MODEL_FILE)

    report.final_report(
        run, evaluator, {"teacher": teacher, "stage1": stage1.model, "student": student},
        labels={"baseline": f"untrained BiHRNet-W{width} (baseline)",
                "teacher": f"teacher HRNet-W{width}",
                "stage1": "BiHRNet stage 1 (binary activations)",
                "student": "BiHRNet student (fully binary)"},
        known={"baseline": baseline}, drawn="student",
        histories={"teacher": teacher_history, "stage1": stage1.history,
                   "stage2": stage2.history},
        extra={"model_path": str(stage2.saved),
               "teacher_path": str(args.teacher or run.out / "teacher.keras")})
    print(f"\nsaved the binary student: {stage2.saved} (python convert/to_lce.py converts it)")


if __name__ == "__main__":
    sys.exit(run_main(main))
