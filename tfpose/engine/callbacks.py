"""Keras callbacks of a training phase: validation and best model, history and checkpoint,
and the stop on a non-finite loss.

They share Keras's per-epoch ``logs`` dict, so their order matters (see
:func:`tfpose.engine.training.phase_callbacks`): :class:`ValidationMetrics` adds ``val_*`` entries
that :class:`EpochCheckpoint`, TensorBoard and the progress bar then see.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

from tfpose.engine.checkpoints import RunCheckpoint
from tfpose.engine.optimizers import current_learning_rate, optimizer_steps
from tfpose.errors import TfposeError
from tfpose.files import write_json_atomically
from tfpose.runtime.keras_files import save_model_atomically

log = logging.getLogger("tfpose")


class NonFiniteLoss(TfposeError):
    """Training produced a NaN or infinite loss; the message names the step and the last good
    checkpoint to resume from."""


class StopOnNonFiniteLoss(tf.keras.callbacks.Callback):
    """Stop at the first batch whose loss is NaN or infinite, naming the step and the last
    good checkpoint (the weights are already damaged, so no checkpoint is written after it).

    Raises :class:`NonFiniteLoss` out of ``fit``.
    """

    def __init__(self, checkpoint: RunCheckpoint, phase: str):
        super().__init__()
        self.checkpoint = checkpoint
        self.phase = phase
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        step = optimizer_steps(self.model.optimizer)
        last = self.checkpoint.latest
        resume = (f"last good checkpoint: {last} (rerun with --resume to continue from it)"
                  if last else "no checkpoint was written yet (the first epoch did not finish)")
        raise NonFiniteLoss(
            f"{self.phase}: the loss became {float(loss)} at step {step} (epoch "
            f"{self.epoch + 1}, batch {batch + 1}); stopped. {resume}. Lower --lr or check the "
            "data for bad annotations")


class ValidationMetrics(tf.keras.callbacks.Callback):
    """After each epoch, evaluate the deployable model and keep the best one.

    Args:
      evaluate: ``model -> {name: value}`` on the validation split; logged as ``val_<name>``.
      model: the model to evaluate and save (a Distiller's student, not the Distiller).
      monitor: the entry of ``evaluate``'s result that decides the best model.
      best_path: where the best model is saved (``.keras``); None: do not save.
      best: the best value seen before this process started (a resumed run), or None.
      mode: ``"max"`` (accuracy, AP) or ``"min"``.
      info: model information saved with the best model (:mod:`tfpose.codecs.model_info`).
    """

    def __init__(self, evaluate: Callable[[tf.keras.Model], dict], model: tf.keras.Model,
                 monitor: str, best_path: Path | None, best: float | None = None,
                 mode: str = "max", info=None):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.evaluate = evaluate
        self.deployable = model
        self.monitor = monitor
        self.best_path = best_path
        self.best = best
        self.mode = mode
        self.info = info

    def on_epoch_end(self, epoch, logs=None):
        metrics = self.evaluate(self.deployable)
        if self.monitor not in metrics:
            raise KeyError(f"the validation metrics {sorted(metrics)} lack the monitored "
                           f"{self.monitor!r}")
        for name, value in metrics.items():
            if isinstance(value, int | float):
                logs[f"val_{name}"] = float(value)
        value = float(metrics[self.monitor])
        better = self.best is None or (value > self.best if self.mode == "max"
                                       else value < self.best)
        if better:
            self.best = value
            if self.best_path is not None:
                save_model_atomically(self.deployable, self.best_path, self.info)


class EpochCheckpoint(tf.keras.callbacks.Callback):
    """After each epoch: append the epoch's logs to the history file, then checkpoint.

    The history is written first: if the process dies between the two writes, the history has
    one epoch more than the checkpoint, and a resumed run cuts it back
    (:func:`tfpose.engine.training.load_history`); the reverse would lose an epoch of it.
    """

    def __init__(self, checkpoint: RunCheckpoint, history_path: Path, history: list[dict],
                 write: bool = True):
        super().__init__()
        self.checkpoint = checkpoint
        self.history_path = history_path
        self.history = history
        self.write = write

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        entry = {"epoch": epoch + 1, "step": optimizer_steps(optimizer),
                 "lr": current_learning_rate(optimizer),
                 **{k: float(v) for k, v in (logs or {}).items()}}
        self.history.append(entry)
        if self.write:
            write_json_atomically(self.history_path, self.history)
        self.checkpoint.save(epoch + 1)
