"""The command-line flags every training script shares, and the model-size presets.

Shared flags (``training_parser``): ``--data``, ``--data-root``, ``--data-source raw|tfds``,
``--data-dir`` (prepared datasets), ``--lr-base-batch``, ``--input-size HxW``,
``--epochs``, ``--batch-size`` (global), ``--lr``, ``--optimizer adam|bop``, ``--schedule
cosine|constant|step`` and ``--lr-steps EPOCH ...`` (step: the rate x0.1 at each of those
epochs), ``--steps-per-epoch``, ``--strategy``, ``--resume``, ``--out``, ``--seed``,
``--model-size small|paper``, ``--model-option KEY=VALUE`` (repeatable), ``--synthetic-images
TRAIN VAL``, ``--run-eagerly`` (debugging), ``--teacher PATH`` for scripts that distil and
``--init PATH`` for scripts whose model can start from published weights.

A :class:`~tfpose.models.presets.ModelPreset` gives a script's defaults for one model size
(each model's presets live beside the zoo, ``tfpose/models/<family>_presets.py``): ``small``
trains in minutes on a CPU (the quick start), ``paper`` is the published configuration (train
it on a GPU with real data), with its schedule (e.g. LitePose's: x0.1 steps at epochs 350 and
480 of 500). Flags given explicitly win over the preset; ``--model-option``
entries are passed to :func:`tfpose.models.create` over the preset's options (e.g.
``--model-option width=8`` for tests).
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

from tfpose.argtypes import parse_size, positive_int
from tfpose.config import OPTIMIZERS, SCHEDULES, TrainConfig
from tfpose.data.layouts import DATA_SOURCES, DATASETS, SYNTHETIC_IMAGES
from tfpose.engine.distribute import STRATEGIES
from tfpose.engine.run import default_out_dir
from tfpose.models.presets import ModelPreset


def model_option(text: str) -> tuple[str, object]:
    """``"width=8"`` -> ``("width", 8)``; values are Python literals (``modules=(1,1,1)``)
    or plain strings."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def training_parser(description: str, *, method: str, presets: dict[str, ModelPreset],
                    default_size: str = "small", teacher: bool = False, init: bool = False,
                    out: Path | None = None) -> argparse.ArgumentParser:
    """An ``argparse`` parser with the shared flags; add a script's own flags to it.

    Args:
      description: the script's help text (its docstring).
      method: names the default run folder (``runs/<method>``).
      presets: the script's model sizes; ``--model-size`` chooses one.
      teacher: add ``--teacher PATH`` (a trained ``.keras`` teacher or a published checkpoint;
        default: train one).
      init: add ``--init PATH`` (a published checkpoint the script's float model starts from).
      out: default ``--out`` (default :func:`tfpose.engine.run.default_out_dir`).
    """
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(presets=presets)
    data = p.add_argument_group("data")
    data.add_argument("--data", choices=DATASETS, default="synthetic",
                      help="dataset (default: synthetic figures, generated on first use)")
    data.add_argument("--data-root", type=Path,
                      help="dataset folder (layouts: tfpose.data.layouts)")
    data.add_argument("--data-source", choices=DATA_SOURCES, default="raw",
                      help="raw: the official files in --data-root; tfds: the prepared dataset "
                           "(sharded TFRecords, `tfpose prepare`) in --data-dir "
                           "(default: %(default)s)")
    data.add_argument("--data-dir",
                      help="TFDS data folder of prepared datasets, a local path or gs://... "
                           "(default: $TFDS_DATA_DIR or ~/tensorflow_datasets)")
    data.add_argument("--synthetic-images", type=positive_int, nargs=2,
                      default=SYNTHETIC_IMAGES, metavar=("TRAIN", "VAL"),
                      help="synthetic images to generate per split (default: %(default)s)")
    model = p.add_argument_group("model")
    model.add_argument("--model-size", choices=sorted(presets), default=default_size,
                       help="preset of model, input size and training defaults (default: "
                            "%(default)s)")
    model.add_argument("--input-size", type=parse_size, metavar="HxW",
                       help="model input, e.g. 256x192 (default: the preset's)")
    model.add_argument("--model-option", type=model_option, action="append", default=[],
                       metavar="KEY=VALUE", help="extra model argument (repeatable)")
    if teacher:
        model.add_argument("--teacher", type=Path, metavar="PATH",
                           help="trained teacher: a .keras model, or a published checkpoint "
                                "(.pth, .safetensors, .h5; `tfpose import-weights`); default: "
                                "train one first")
    if init:
        model.add_argument("--init", type=Path, metavar="PATH",
                           help="start the model from a published checkpoint: the same "
                                "network (e.g. the authors' weights) or an ImageNet backbone "
                                "(timm / torchvision / tf.keras.applications; the head starts "
                                "fresh), see `tfpose import-weights`; or from a tfpose .keras "
                                "model of the same architecture")
    train = p.add_argument_group("training")
    train.add_argument("--epochs", type=positive_int, help="default: the preset's")
    train.add_argument("--batch-size", type=positive_int,
                       help="global batch, split over replicas (default: the preset's)")
    train.add_argument("--lr", type=float, help="peak learning rate (default: the preset's)")
    train.add_argument("--lr-base-batch", type=positive_int, metavar="N",
                       help="scale --lr linearly to the global batch: lr x batch / N (Goyal et "
                            "al.'s rule, for growing the batch over more replicas); default: "
                            "--lr is used as given")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                       help="bop: Bop on binary kernels, Adam on the rest (default: adam)")
    train.add_argument("--schedule", choices=SCHEDULES,
                       help="learning-rate schedule: cosine decay over the phase, constant, or "
                            "step (x0.1 at each --lr-steps epoch); default: the preset's")
    train.add_argument("--lr-steps", type=positive_int, nargs="+", metavar="EPOCH",
                       help="with --schedule step: the epochs at whose start the learning rate "
                            "drops 10x (default: the preset's, e.g. LitePose's 350 480)")
    train.add_argument("--steps-per-epoch", type=positive_int,
                       help="default: one pass over the training persons")
    train.add_argument("--strategy", choices=STRATEGIES, default="default",
                       help="tf.distribute strategy (tfpose.engine.distribute)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--run-eagerly", action="store_true",
                       help="debugging: run Keras steps and validation eagerly (no tracing; "
                            "slow for real training)")
    run = p.add_argument_group("run")
    run.add_argument("--out", type=Path, default=out or default_out_dir(method),
                     help="run folder (default: %(default)s)")
    run.add_argument("--resume", action="store_true",
                     help="continue the run in --out from its latest checkpoint")
    return p


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None = None):
    """Parse ``argv`` and fill the preset's defaults into flags left unset.

    The namespace gains ``preset`` (the chosen :class:`ModelPreset`) and ``model_options``
    (the preset's options updated with ``--model-option``).
    """
    args = parser.parse_args(argv)
    preset = args.presets[args.model_size]
    del args.presets
    args.preset = preset
    args.input_size = args.input_size or preset.input_size
    args.epochs = args.epochs or preset.epochs
    args.batch_size = args.batch_size or preset.batch_size
    args.lr = args.lr if args.lr is not None else preset.learning_rate
    if not args.lr > 0:
        parser.error(f"--lr must be positive, got {args.lr}")
    args.base_lr = args.lr
    args.schedule = args.schedule or preset.schedule
    if args.lr_steps is None:
        args.lr_steps = preset.lr_steps if args.schedule == preset.schedule == "step" else ()
    elif args.schedule != "step":
        parser.error(f"--lr-steps is for --schedule step, not {args.schedule}")
    args.lr_steps = tuple(args.lr_steps)
    if args.schedule == "step" and (not args.lr_steps or
                                    list(args.lr_steps) != sorted(set(args.lr_steps))):
        parser.error(f"--schedule step needs increasing epochs in --lr-steps, got "
                     f"{' '.join(map(str, args.lr_steps)) or 'none'}")
    if args.lr_base_batch:
        args.lr = args.lr * args.batch_size / args.lr_base_batch
    args.model_options = {**preset.options, **dict(args.model_option)}
    del args.model_option
    return args


def train_config(args, **overrides) -> TrainConfig:
    """The :class:`~tfpose.config.TrainConfig` of parsed flags (``overrides`` win)."""
    values = {"epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.lr,
              "optimizer": args.optimizer, "schedule": args.schedule,
              "lr_steps": tuple(args.lr_steps),
              "steps_per_epoch": args.steps_per_epoch, "run_eagerly": args.run_eagerly}
    return TrainConfig(**{**values, **overrides})


def prepared_from_flags(args):
    """``(train split, validation files)`` of ``--data NAME --data-source tfds --data-dir DIR``
    (:func:`tfpose.data.prepared.prepared_dataset`)."""
    # TensorFlow Datasets is imported only when a prepared dataset is asked for.
    from tfpose.data.prepared import prepared_dataset

    return prepared_dataset(args.data, args.data_dir, data_root=args.data_root,
                            synthetic_images=tuple(args.synthetic_images))
