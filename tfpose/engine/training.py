"""One training phase, from any compiled Keras model: resume, fit, checkpoint, best model.

:func:`train_phase` is the loop every script shares (top-down, distillation stages, bottom-up):

1. restore the phase's latest checkpoint when resuming (model, optimiser, finished epochs);
2. ``model.fit`` from that epoch with the Keras progress bar and, after every epoch, in order:
   validation metrics and the best model (:class:`~.callbacks.ValidationMetrics`), the history
   file and the checkpoint (:class:`~.callbacks.EpochCheckpoint`), TensorBoard; after every
   batch, the stop on a non-finite loss;
3. save the deployable model (e.g. a Distiller's student) as ``save_as``.

The model can be anything ``fit`` accepts together with its dataset: a plain model compiled
with a loss on ``(image, heatmaps, weights)`` tuples, a :class:`~.distiller.Distiller` or a
loss-owning wrapper such as :class:`tfpose.engine.bottomup_trainer.BottomUpTrainer`.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from tfpose.config import TrainConfig
from tfpose.engine.callbacks import (
    EpochCheckpoint,
    StopOnNonFiniteLoss,
    ValidationMetrics,
)
from tfpose.engine.checkpoints import RunCheckpoint
from tfpose.engine.optimizers import build_optimizer_state, optimizer_steps
from tfpose.engine.run import Run
from tfpose.runtime.keras_files import save_model_atomically

log = logging.getLogger("tfpose")

HISTORY_FILE = "history.json"
BEST_FILE = "best.keras"


@dataclass
class Validation:
    """How a phase is validated after each epoch.

    Attributes:
      evaluate: ``deployable model -> {metric: value}``.
      monitor: the metric that picks the best model.
      mode: ``"max"`` or ``"min"``.
    """

    evaluate: Callable[[tf.keras.Model], dict]
    monitor: str
    mode: str = "max"


@dataclass
class PhaseResult:
    """What a phase leaves: the trained deployable model and its history.

    Attributes:
      name: the phase.
      model: the deployable model, trained (or restored, when the phase was already done).
      history: one dict of logs per finished epoch (all epochs, across resumes).
      epochs_trained: epochs trained by this process (0 when restored).
      checkpoint: the latest checkpoint's path prefix.
      saved: where the deployable model was saved, or None.
    """

    name: str
    model: tf.keras.Model
    history: list[dict]
    epochs_trained: int
    checkpoint: str | None
    saved: Path | None


def steps_per_epoch(config: TrainConfig, num_examples: int) -> int:
    """``config.steps_per_epoch`` or one pass over ``num_examples`` in global batches."""
    return config.steps_per_epoch or max(1, num_examples // config.batch_size)


def validation_of(evaluator) -> Validation:
    """Per-epoch validation with an evaluator (:class:`tfpose.evaluation.topdown.
    TopDownEvaluator` or :class:`tfpose.evaluation.bottomup.BottomUpEvaluator`), without
    the flip test (half the cost); logs the evaluator's ``reported`` metrics as ``val_<name>``."""

    def evaluate(model):
        metrics = evaluator(model, flip_test=False)
        return {name: metrics[name] for name in evaluator.reported if name in metrics}

    return Validation(evaluate, evaluator.primary)


def without_autograph(model: tf.keras.Model) -> tf.keras.Model:
    """Let Keras trace ``model``'s train / test / predict steps without AutoGraph.

    AutoGraph converts every layer's ``call`` inside a traced step; for Larq's layers that
    dominates the first step (tiny BiHRNet stage 1 at 96x64, 2 CPU cores: first 5 steps 75 s ->
    29 s; tiny HRNet 30 s -> 12 s). Our models have no data-dependent Python control flow, so
    nothing needs converting. (The trainers' base, :class:`.trainer.WrapperTrainer`, does this
    itself.)
    """
    for name in ("train_step", "test_step", "predict_step"):
        setattr(model, name, tf.autograph.experimental.do_not_convert(getattr(model, name)))
    return model


def load_history(path: Path, epochs: int) -> list[dict]:
    """The first ``epochs`` entries of a phase's history file (empty if there is none)."""
    if not path.is_file():
        return []
    return [entry for entry in json.loads(path.read_text(encoding="utf-8"))
            if entry["epoch"] <= epochs]


def train_phase(run: Run, name: str, model: tf.keras.Model,
                train_data: Callable[[int], tf.data.Dataset], *, epochs: int,
                steps_per_epoch: int, deployable: tf.keras.Model | None = None,
                validation: Validation | None = None, save_as: Path | None = None,
                info=None, verbose: int | str = 1) -> PhaseResult:
    """Train ``model`` for phase ``name`` of ``run`` (see the module docstring).

    Args:
      run: the run (folder, strategy, resume flag).
      name: the phase; its files go to ``run.out / name``.
      model: compiled (inside ``run.strategy.scope()``).
      train_data: ``initial_epoch -> dataset`` yielding ``steps_per_epoch`` batches per epoch
        (e.g. repeating). A resumed run asks for a dataset seeded by its initial epoch, so it
        does not replay the first epochs' order and augmentations.
      epochs: the phase's total epochs (a resumed run trains the remaining ones).
      steps_per_epoch: optimiser steps per epoch.
      deployable: the model to validate and save (default ``model``).
      validation: per-epoch validation; None for none (no best model either).
      save_as: where to save the trained deployable model (``.keras``), or None.
      info: :class:`~tfpose.codecs.model_info.ModelInfo` saved inside the ``.keras`` files
        (final and best model), so that they can be used without repeating the codec.
      verbose: Keras ``fit`` verbosity (1: progress bar).
    Returns:
      a :class:`PhaseResult`.
    """
    deployable = deployable or model
    folder = run.phase_dir(name)
    if not run.resume and run.chief and folder.exists():
        shutil.rmtree(folder)
    build_optimizer_state(model)
    chief_folder = run.out / name  # every worker resumes from the chief's checkpoints
    checkpoint = RunCheckpoint(folder / "checkpoints", model,
                               restore_from=chief_folder / "checkpoints")
    initial_epoch = checkpoint.restore_latest() if run.resume else 0
    history = load_history(chief_folder / HISTORY_FILE, initial_epoch)
    if initial_epoch:
        log.info("%s: resumed after epoch %d from %s (step %d)", name, initial_epoch,
                 checkpoint.restored, optimizer_steps(model.optimizer))
    trained = max(0, epochs - initial_epoch)
    if trained:
        callbacks = phase_callbacks(run, name, folder, model, checkpoint, history, deployable,
                                    validation, info)
        log.info("%s: epochs %d-%d of %d, %d steps each", name, initial_epoch + 1, epochs,
                 epochs, steps_per_epoch)
        model.fit(distributable(train_data(initial_epoch)), epochs=epochs,
                  initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                  callbacks=callbacks, verbose=verbose)
    else:
        log.info("%s: already trained for %d epochs; restored", name, initial_epoch)
    saved = save_model_atomically(deployable, run.writable(save_as), info) if save_as else None
    return PhaseResult(name, deployable, history, trained, checkpoint.latest, saved)


def phase_callbacks(run: Run, name: str, folder: Path, model: tf.keras.Model,
                    checkpoint: RunCheckpoint, history: list[dict],
                    deployable: tf.keras.Model, validation: Validation | None,
                    info=None) -> list:
    """The callbacks of a phase, in the order their shared epoch logs need."""
    callbacks: list[tf.keras.callbacks.Callback] = [StopOnNonFiniteLoss(checkpoint, name)]
    if validation is not None:
        monitored = [entry[f"val_{validation.monitor}"] for entry in history
                     if f"val_{validation.monitor}" in entry]
        best = None
        if monitored:
            best = max(monitored) if validation.mode == "max" else min(monitored)
        callbacks.append(ValidationMetrics(validation.evaluate, deployable, validation.monitor,
                                           folder / BEST_FILE, best, validation.mode, info))
    callbacks.append(EpochCheckpoint(checkpoint, folder / HISTORY_FILE, history,
                                     write=run.chief))
    callbacks.append(tf.keras.callbacks.TensorBoard(
        log_dir=str(folder / "logs"), write_graph=False, profile_batch=0))
    return callbacks


def distributable(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Shard by example across workers (auto-shard policy DATA). The default, by file, needs
    at least as many files as workers: in-memory records have no files at all, and a prepared
    split may have fewer shards than there are workers."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
