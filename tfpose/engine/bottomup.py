"""Bottom-up training: data, codec and the phase the bottom-up script (LitePose) runs.

``training/train_litepose.py`` reads top to bottom, as the top-down scripts do
(:mod:`.topdown`)::

    args = parse_args(parser, argv);  run = start_run(args, method)     # .flags, .run
    data = load_bottomup_data(args);  codec = bottomup_codec(args)
    evaluator = bottomup_evaluator(data, codec)                        # tfpose.evaluation.bottomup
    model = build_model(run, "litepose_xs", args, k)                   # .models
    fit_bottomup_model(run, "train", model, data, codec, config, evaluator, ...)
    final_report(run, evaluator, {...}, ...)                           # .report

Training batches are whole images with heatmap targets at strides 4 and 2, loss masks and tag
joints (:func:`tfpose.data.bottomup.bottomup_dataset`, LitePose's augmentation), fitted by a
:class:`~tfpose.engine.bottomup_trainer.BottomUpTrainer` (masked MSE at both strides + the
associative-embedding loss). MPII is single-person per box and has no bottom-up protocol here:
``--data mpii`` is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import tensorflow as tf

from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.codecs.model_info import bottomup_info
from tfpose.config import TrainConfig
from tfpose.data.bottomup import BottomUpAugmentConfig, bottomup_dataset
from tfpose.data.image_records import ImageRecords, read_coco_images
from tfpose.data.layouts import DatasetFiles, locate_dataset
from tfpose.engine.bottomup_trainer import BottomUpTrainer
from tfpose.engine.distribute import ConfigError
from tfpose.engine.flags import prepared_from_flags
from tfpose.engine.optimizers import make_optimizer
from tfpose.engine.run import Run
from tfpose.engine.training import PhaseResult, steps_per_epoch, train_phase, validation_of
from tfpose.errors import DataError
from tfpose.evaluation.bottomup import DATASETS, BottomUpEvaluator

if TYPE_CHECKING:
    from tfpose.data.prepared import PreparedSplit

log = logging.getLogger("tfpose")


@dataclass
class BottomUpData:
    """A dataset's files, its training images (each with all its persons) and their
    augmentation."""

    files: DatasetFiles
    train: ImageRecords | PreparedSplit
    augment: BottomUpAugmentConfig = BottomUpAugmentConfig()

    @property
    def num_keypoints(self) -> int:
        return self.train.keypoint_set.num_keypoints

    @property
    def num_images(self) -> int:
        """Training images (a prepared split's ``len`` counts persons)."""
        return self.train.num_images


def load_bottomup_data(args) -> BottomUpData:
    """Locate ``--data`` and read its training images (:mod:`tfpose.data.layouts`), to be
    augmented as the preset says."""
    if args.data not in DATASETS:
        raise ConfigError(f"--data {args.data}: bottom-up models train on "
                          f"{', '.join(sorted(DATASETS))} (COCO-format multi-person "
                          "annotations); MPII suits the top-down scripts")
    augment = BottomUpAugmentConfig(**args.preset.augment)
    if getattr(args, "data_source", "raw") == "tfds":
        train, files = prepared_from_flags(args)
        data = BottomUpData(files, train, augment)
        persons = train.counts["labelled_persons"]
    else:
        files = locate_dataset(args.data, args.data_root,
                               synthetic_images=args.synthetic_images)
        data = BottomUpData(files, read_coco_images(files.train_ann, files.train_images,
                                                    files.keypoint_set), augment)
        persons = int(data.train.num_persons.sum())
    if data.num_images == 0:
        raise DataError(files.train_ann, "no training image with a labelled person")
    log.info("%s: %d training images with %d persons, %d keypoints; augmentation %s",
             files.name, data.num_images, persons, files.keypoint_set.num_keypoints, augment)
    return data


def bottomup_codec(args, *, sigma: float | None = None) -> BottomUpCodec:
    """The codec for ``--input-size`` at the preset's strides (LitePose: heatmaps + tags at 1/4,
    heatmaps at 1/2) and sigma (unless given)."""
    try:
        return BottomUpCodec(input_size=tuple(args.input_size), strides=args.preset.strides,
                             sigma=sigma or args.preset.sigma)
    except ValueError as e:
        raise ConfigError(f"--input-size {args.input_size[0]}x{args.input_size[1]}: {e}") \
            from None


def bottomup_evaluator(data: BottomUpData, codec: BottomUpCodec, **kwargs) -> BottomUpEvaluator:
    """The evaluator of the dataset's validation images (keyword arguments: see
    :class:`BottomUpEvaluator`)."""
    files = data.files
    return BottomUpEvaluator(files.val_ann, files.val_images, codec, dataset=files.name,
                             **kwargs)


def train_data(data: BottomUpData, codec: BottomUpCodec, batch_size: int,
               seed: int) -> Callable[[int], tf.data.Dataset]:
    """``initial_epoch -> repeating dataset`` of bottom-up batch dicts of ``data.train``
    (augmented with ``data.augment``; seeded by ``seed + initial_epoch``)."""

    def make(initial_epoch: int) -> tf.data.Dataset:
        return bottomup_dataset(data.train, codec, batch_size=batch_size, train=True,
                                augment=data.augment, repeat=True, seed=seed + initial_epoch)

    return make


def fit_bottomup_model(run: Run, name: str, model: tf.keras.Model, data: BottomUpData,
                       codec: BottomUpCodec, config: TrainConfig,
                       evaluator: BottomUpEvaluator, *, save_as: Path | None = None,
                       verbose: int | str = 1) -> PhaseResult:
    """Train ``model`` with heatmap MSE at both strides + the AE loss as phase ``name``."""
    steps = steps_per_epoch(config, data.num_images)
    with run.strategy.scope():
        try:
            trainer = BottomUpTrainer(model)
        except ValueError as e:
            raise ConfigError(f"{name}: not a bottom-up model: {e}") from None
        trainer.compile(make_optimizer(config, steps * config.epochs),
                        run_eagerly=config.run_eagerly)
    return train_phase(run, name, trainer, train_data(data, codec, config.batch_size,
                                                      run.seed),
                       epochs=config.epochs, steps_per_epoch=steps, deployable=model,
                       validation=validation_of(evaluator), save_as=save_as,
                       info=bottomup_info(codec, data.train.keypoint_set, model.name),
                       verbose=verbose)
