"""Top-down training: data, codec and the phases the top-down scripts run.

The scripts (``training/train_bihrnet.py``, ``train_fasterpose.py``, ``train_hourglass_hpm.py``)
read top to bottom with these steps::

    args = parse_args(parser, argv);  run = start_run(args, method)     # .flags, .run
    data = load_topdown_data(args);   codec = heatmap_codec(args)
    evaluator = TopDownEvaluator(data.files, data.val, codec)           # .evaluation
    model = build_model(run, "hrnet_w32", args, k)   # .models: inside the strategy's scope
    fit_heatmap_model(run, "model", model, KeypointMSE(), data, codec, config, evaluator, ...)
    final_report(run, evaluator, {...}, ...)                            # .report

The bottom-up script (``training/train_litepose.py``) has the same shape with
:mod:`.bottomup`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import tensorflow as tf

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.codecs.model_info import topdown_info
from tfpose.config import AugmentConfig, DistillConfig, TrainConfig
from tfpose.data.layouts import DatasetFiles, locate_dataset, read_persons
from tfpose.data.records import PersonRecords
from tfpose.data.topdown import topdown_dataset
from tfpose.engine.distiller import Distiller
from tfpose.engine.distribute import ConfigError
from tfpose.engine.flags import prepared_from_flags
from tfpose.engine.optimizers import make_optimizer
from tfpose.engine.run import Run
from tfpose.engine.training import (
    PhaseResult,
    steps_per_epoch,
    train_phase,
    validation_of,
    without_autograph,
)
from tfpose.errors import DataError
from tfpose.evaluation.topdown import TopDownEvaluator
from tfpose.losses.distillation import HeatmapKLDivergence
from tfpose.losses.heatmap import AdaptiveWingLoss, HeatmapLoss

if TYPE_CHECKING:
    from tfpose.data.prepared import PreparedSplit

log = logging.getLogger("tfpose")


@dataclass
class TopDownData:
    """A dataset's files and its person records: training persons (annotation boxes, grown to
    cover their keypoints by the pipeline) and validation persons (ground-truth boxes), and the
    augmentation of the training crops."""

    files: DatasetFiles
    train: PersonRecords | PreparedSplit
    val: PersonRecords
    augment: AugmentConfig = AugmentConfig()

    @property
    def num_keypoints(self) -> int:
        return self.train.keypoint_set.num_keypoints


def load_topdown_data(args) -> TopDownData:
    """Locate and read ``--data`` (see :mod:`tfpose.data.layouts` for the layouts), from the
    raw files or, with ``--data-source tfds``, from the prepared dataset; the training crops
    get the preset's augmentation."""
    if getattr(args, "data_source", "raw") == "tfds":
        train, files = prepared_from_flags(args)
    else:
        files = locate_dataset(args.data, args.data_root,
                               synthetic_images=args.synthetic_images)
        train = read_persons(files, files.train_ann, files.train_images)
    val = read_persons(files, files.val_ann, files.val_images)
    for split, records, ann in (("training", train, files.train_ann),
                                ("validation", val, files.val_ann)):
        if len(records) == 0:
            raise DataError(ann, f"no {split} person with labelled keypoints and an image")
    augment = AugmentConfig(**args.preset.augment)
    log.info("%s: %d training and %d validation persons, %d keypoints; augmentation %s",
             files.name, len(train), len(val), train.keypoint_set.num_keypoints, augment)
    return TopDownData(files, train, val, augment)


def heatmap_codec(args, *, stride: int | None = None, output: str | None = None,
                  sigma: float | None = None) -> HeatmapCodec:
    """The codec for ``--input-size`` with heatmaps at ``1/stride`` (stride, output and sigma:
    the preset's unless given)."""
    stride = stride or args.preset.stride
    height, width = args.input_size
    if height % stride or width % stride:
        raise ConfigError(f"--input-size {height}x{width}: both sides must be multiples of the "
                          f"heatmap stride {stride}")
    return HeatmapCodec(input_size=(height, width), heatmap_size=(height // stride,
                                                                  width // stride),
                        sigma=sigma or args.preset.sigma, output=output or args.preset.output)


def distill_config(kl_weight: float, heatmap_weight: float, temperature: float,
                   scale_by_t2: bool = False) -> DistillConfig:
    """A :class:`~tfpose.config.DistillConfig`, or a :class:`ConfigError` naming the bad flag."""
    try:
        return DistillConfig(kl_weight, heatmap_weight, temperature, scale_by_t2)
    except ValueError as e:
        raise ConfigError(f"distillation flags: {e}") from None


def train_data(data: TopDownData, codec: HeatmapCodec, batch_size: int,
               seed: int) -> Callable[[int], tf.data.Dataset]:
    """``initial_epoch -> repeating dataset`` of ``(image, heatmaps, target_weight)`` batches
    of ``data.train`` (augmented with ``data.augment``; seeded by ``seed + initial_epoch``)."""

    def make(initial_epoch: int) -> tf.data.Dataset:
        ds = topdown_dataset(data.train, codec, batch_size=batch_size, train=True,
                             augment=data.augment, repeat=True, seed=seed + initial_epoch)
        return ds.map(lambda b: (b["image"], b["heatmaps"], b["target_weight"]),
                      num_parallel_calls=tf.data.AUTOTUNE)

    return make


def fit_heatmap_model(run: Run, name: str, model: tf.keras.Model, loss: HeatmapLoss,
                      data: TopDownData, codec: HeatmapCodec, config: TrainConfig,
                      evaluator: TopDownEvaluator, *, save_as: Path | None = None,
                      verbose: int | str = 1) -> PhaseResult:
    """Train ``model`` with a heatmap ``loss`` (target weights as Keras sample weights) as
    phase ``name`` of ``run``."""
    steps = steps_per_epoch(config, len(data.train))
    with run.strategy.scope():
        model.compile(make_optimizer(config, steps * config.epochs), loss=loss,
                      run_eagerly=config.run_eagerly)
    without_autograph(model)
    return train_phase(run, name, model, train_data(data, codec, config.batch_size, run.seed),
                       epochs=config.epochs, steps_per_epoch=steps,
                       validation=validation_of(evaluator), save_as=save_as,
                       info=topdown_info(codec, data.train.keypoint_set, model.name),
                       verbose=verbose)


def train_student(run: Run, name: str, student: tf.keras.Model, teacher: tf.keras.Model,
                  data: TopDownData, codec: HeatmapCodec, config: TrainConfig,
                  distill_config: DistillConfig, evaluator: TopDownEvaluator, *,
                  heatmap_loss: HeatmapLoss | None = None, save_as: Path | None = None,
                  verbose: int | str = 1) -> PhaseResult:
    """Train ``student`` against the frozen ``teacher`` and the ground truth with a
    :class:`~.distiller.Distiller` (KL + ``heatmap_loss``, default AWing) as phase ``name``
    of ``run``."""
    steps = steps_per_epoch(config, len(data.train))
    with run.strategy.scope():
        try:
            distiller = Distiller(student, teacher)
        except ValueError as e:
            raise ConfigError(f"{name}: the teacher does not fit the student: {e}") from None
        distiller.compile(make_optimizer(config, steps * config.epochs),
                          kl_weight=distill_config.kl_weight,
                          heatmap_weight=distill_config.heatmap_weight,
                          kl=HeatmapKLDivergence(distill_config.temperature,
                                                 scale_by_t2=distill_config.scale_by_t2),
                          heatmap_loss=heatmap_loss or AdaptiveWingLoss(),
                          run_eagerly=config.run_eagerly)
    without_autograph(student)  # validation predicts with the student itself
    return train_phase(run, name, distiller, train_data(data, codec, config.batch_size,
                                                        run.seed),
                       epochs=config.epochs, steps_per_epoch=steps, deployable=student,
                       validation=validation_of(evaluator), save_as=save_as,
                       info=topdown_info(codec, data.train.keypoint_set, student.name),
                       verbose=verbose)
