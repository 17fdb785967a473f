"""Top-down training: data, codec, models and the phases the top-down scripts run.

The scripts (``training/train_bihrnet.py``, ``train_fasterpose.py``, ``train_hourglass_hpm.py``)
read top to bottom with these steps::

    args = parse_args(parser, argv);  run = start_run(args, method)
    data = load_topdown_data(args);   codec = heatmap_codec(args)
    evaluator = TopDownEvaluator(data.files, data.val, codec)
    model = build_model(run, "hrnet_w32", args)          # inside the strategy's scope
    fit_heatmap_model(run, "model", model, KeypointMSE(), data, codec, config, evaluator, ...)
    final_report(run, evaluator, {...}, ...)
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.config import DistillConfig, TrainConfig
from tfpose.data.coco import read_coco_persons
from tfpose.data.crowdpose import read_crowdpose_persons
from tfpose.data.mpii import read_mpii_persons
from tfpose.data.records import PersonRecords
from tfpose.data.topdown import topdown_dataset
from tfpose.distill import Distiller
from tfpose.engine.checkpoints import load_keras_model
from tfpose.engine.datasets import DatasetFiles, locate_dataset
from tfpose.engine.distribute import ConfigError
from tfpose.engine.evaluation import TopDownEvaluator
from tfpose.engine.optimizers import make_optimizer
from tfpose.engine.report import plot_curves, results_table, save_prediction_grid, write_metrics
from tfpose.engine.run import Run
from tfpose.engine.training import PhaseResult, Validation, train_phase, without_autograph
from tfpose.errors import DataError
from tfpose.losses.distillation import HeatmapKLDivergence
from tfpose.losses.heatmap import AdaptiveWingLoss, HeatmapLoss
from tfpose.models import create

log = logging.getLogger("tfpose")

GRID_CROPS = 16  # validation crops drawn in predictions.png


@dataclass
class TopDownData:
    """A dataset's files and its person records: training persons (annotation boxes, grown to
    cover their keypoints by the pipeline) and validation persons (ground-truth boxes)."""

    files: DatasetFiles
    train: PersonRecords
    val: PersonRecords

    @property
    def num_keypoints(self) -> int:
        return self.train.keypoint_set.num_keypoints


def load_topdown_data(args) -> TopDownData:
    """Locate and read ``--data`` (see :mod:`tfpose.engine.datasets` for the layouts)."""
    files = locate_dataset(args.data, args.data_root, synthetic_images=args.synthetic_images)
    read = {"mpii": read_mpii_persons, "crowdpose": read_crowdpose_persons}.get(
        files.name, lambda ann, images: read_coco_persons(ann, images, files.keypoint_set))
    train, val = read(files.train_ann, files.train_images), read(files.val_ann, files.val_images)
    for split, records, ann in (("training", train, files.train_ann),
                                ("validation", val, files.val_ann)):
        if len(records) == 0:
            raise DataError(ann, f"no {split} person with labelled keypoints and an image")
    log.info("%s: %d training and %d validation persons, %d keypoints", files.name, len(train),
             len(val), train.keypoint_set.num_keypoints)
    return TopDownData(files, train, val)


def heatmap_codec(args, *, stride: int = 4, output: str = "gaussian",
                  sigma: float | None = None) -> HeatmapCodec:
    """The codec for ``--input-size`` with heatmaps at ``1/stride`` (sigma: the preset's)."""
    height, width = args.input_size
    if height % stride or width % stride:
        raise ConfigError(f"--input-size {height}x{width}: both sides must be multiples of the "
                          f"heatmap stride {stride}")
    return HeatmapCodec(input_size=(height, width), heatmap_size=(height // stride,
                                                                  width // stride),
                        sigma=sigma or args.preset.sigma, output=output)


def build_model(run: Run, name: str, args, num_keypoints: int, **options) -> tf.keras.Model:
    """Zoo model ``name`` at ``--input-size`` with the run's model options, built inside the
    strategy's scope; a bad size or option is a :class:`ConfigError`."""
    options = {**args.model_options, **options}
    with run.strategy.scope():
        try:
            return create(name, input_size=args.input_size, num_keypoints=num_keypoints,
                          **options)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"cannot build {name} with input size {args.input_size} and "
                              f"options {options}: {e}") from None


def load_model(run: Run, path: Path, what: str = "model") -> tf.keras.Model:
    """A saved ``.keras`` model (e.g. ``--teacher``), loaded inside the strategy's scope."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, f"{what} file not found (expected a .keras model saved by tfpose)")
    with run.strategy.scope():
        try:
            return load_keras_model(path)
        except (ValueError, OSError, KeyError, zipfile.BadZipFile) as e:
            raise DataError(path, f"cannot load the {what}: {e}") from None


def distill_config(kl_weight: float, heatmap_weight: float, temperature: float) -> DistillConfig:
    """A :class:`~tfpose.config.DistillConfig`, or a :class:`ConfigError` naming the bad flag."""
    try:
        return DistillConfig(kl_weight, heatmap_weight, temperature)
    except ValueError as e:
        raise ConfigError(f"distillation flags: {e}") from None


def steps_per_epoch(config: TrainConfig, records: PersonRecords) -> int:
    """``config.steps_per_epoch`` or one pass over ``records`` in global batches."""
    return config.steps_per_epoch or max(1, len(records) // config.batch_size)


def train_data(records: PersonRecords, codec: HeatmapCodec, batch_size: int,
               seed: int) -> Callable[[int], tf.data.Dataset]:
    """``initial_epoch -> repeating dataset`` of ``(image, heatmaps, target_weight)`` batches
    (augmented; seeded by ``seed + initial_epoch``)."""

    def make(initial_epoch: int) -> tf.data.Dataset:
        ds = topdown_dataset(records, codec, batch_size=batch_size, train=True, repeat=True,
                             seed=seed + initial_epoch)
        return ds.map(lambda b: (b["image"], b["heatmaps"], b["target_weight"]),
                      num_parallel_calls=tf.data.AUTOTUNE)

    return make


def validation(evaluator: TopDownEvaluator) -> Validation:
    """Per-epoch validation without flip test (half the cost); logs the evaluator's
    ``reported`` metrics as ``val_<name>``."""

    def evaluate(model):
        metrics = evaluator(model, flip_test=False)
        return {name: metrics[name] for name in evaluator.reported if name in metrics}

    return Validation(evaluate, evaluator.primary)


def fit_heatmap_model(run: Run, name: str, model: tf.keras.Model, loss: HeatmapLoss,
                      data: TopDownData, codec: HeatmapCodec, config: TrainConfig,
                      evaluator: TopDownEvaluator, *, save_as: Path | None = None,
                      verbose: int | str = 1) -> PhaseResult:
    """Train ``model`` with a heatmap ``loss`` (target weights as Keras sample weights) as
    phase ``name`` of ``run``."""
    steps = steps_per_epoch(config, data.train)
    with run.strategy.scope():
        model.compile(make_optimizer(config, steps * config.epochs), loss=loss,
                      run_eagerly=config.run_eagerly)
    without_autograph(model)
    return train_phase(run, name, model, train_data(data.train, codec, config.batch_size,
                                                    run.seed),
                       epochs=config.epochs, steps_per_epoch=steps,
                       validation=validation(evaluator), save_as=save_as, verbose=verbose)


def distil(run: Run, name: str, student: tf.keras.Model, teacher: tf.keras.Model,
           data: TopDownData, codec: HeatmapCodec, config: TrainConfig,
           distill_config: DistillConfig, evaluator: TopDownEvaluator, *,
           save_as: Path | None = None, verbose: int | str = 1) -> PhaseResult:
    """Train ``student`` against the frozen ``teacher`` and the ground truth with a
    :class:`~tfpose.distill.Distiller` (KL + AWing) as phase ``name`` of ``run``."""
    steps = steps_per_epoch(config, data.train)
    with run.strategy.scope():
        try:
            distiller = Distiller(student, teacher)
        except ValueError as e:
            raise ConfigError(f"{name}: the teacher does not fit the student: {e}") from None
        distiller.compile(make_optimizer(config, steps * config.epochs),
                          kl_weight=distill_config.kl_weight,
                          heatmap_weight=distill_config.heatmap_weight,
                          kl=HeatmapKLDivergence(distill_config.temperature),
                          heatmap_loss=AdaptiveWingLoss(), run_eagerly=config.run_eagerly)
    without_autograph(student)  # validation predicts with the student itself
    return train_phase(run, name, distiller, train_data(data.train, codec, config.batch_size,
                                                        run.seed),
                       epochs=config.epochs, steps_per_epoch=steps, deployable=student,
                       validation=validation(evaluator), save_as=save_as, verbose=verbose)


def final_report(run: Run, evaluator: TopDownEvaluator, models: dict[str, tf.keras.Model],
                 *, labels: dict[str, str], histories: dict[str, list[dict]], drawn: str,
                 known: dict[str, dict] | None = None, extra: dict | None = None) -> dict:
    """Evaluate the final models (flip test), write ``metrics.json``, ``predictions.png`` and
    ``curves.png`` in the run folder and print the results table.

    Args:
      models: ``{key: model}`` to evaluate now (e.g. ``teacher``, ``student``).
      labels: ``{key: row label}`` for the table, in table order (may include ``known`` keys).
      histories: ``{phase: history}`` for the curves.
      drawn: the key of the model whose predictions are drawn.
      known: ``{key: metrics}`` evaluated before (e.g. an untrained baseline).
      extra: more entries for ``metrics.json``.
    Returns:
      the ``metrics.json`` content.
    """
    results = dict(known or {})
    for key, model in models.items():
        keep = GRID_CROPS if key == drawn else 0
        predictions = evaluator.predict(model, keep_crops=keep)
        results[key] = evaluator.metrics(predictions)
        if keep and run.chief:
            save_prediction_grid(run.out / "predictions.png", predictions.crops,
                                 predictions.crop_keypoints, evaluator.keypoint_set)
    metric = evaluator.primary
    summary = {"data": evaluator.files.name, "metric": metric, "flip_test": evaluator.flip_test,
               "num_val_persons": len(evaluator.records),
               "results": {key: {"label": labels.get(key, key), **results[key]}
                           for key in labels if key in results},
               **(extra or {})}
    if run.chief:
        write_metrics(run.out / "metrics.json", summary)
        if any(histories.values()):
            plot_curves(run.out / "curves.png", histories, metric)
    rows = {labels[key]: results[key] for key in labels if key in results}
    print(f"\n{metric} on {len(evaluator.records)} {evaluator.files.name} validation persons "
          "(percent, flip test):")
    print(results_table(rows, metric, extra=evaluator.reported[1:]))
    return summary
