"""Checkpoints of a training phase, and files written so that a kill never leaves a broken one.

:class:`RunCheckpoint` saves the model (for a :class:`~.distiller.Distiller`: student and
teacher), the optimiser (its step counter, hence the learning-rate schedule, and its moments)
and the number of finished epochs, once per epoch, through ``tf.train.CheckpointManager``.

Why a kill cannot break it: a TF2 checkpoint is written as data files under a temporary name
that are renamed into place, and only then does the manager rewrite its state file (the
``checkpoint`` text file naming the latest checkpoint) with an atomic write-then-rename; old
checkpoints are deleted after that. A process killed at any moment therefore leaves a state
file that names a complete checkpoint (the new one or the previous one), and
:meth:`RunCheckpoint.restore_latest` reads only what the state file names.

Everything else a run writes (``.keras`` models, json) goes to a temporary file in the same
folder that is renamed over the target (:func:`save_model_atomically`,
:mod:`tfpose.files`): readers see the old file or the new one, never half of one.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

KEEP_CHECKPOINTS = 2  # the latest and the one before it


class RunCheckpoint:
    """Per-epoch checkpoints of ``model`` and its compiled optimiser in ``directory``.

    Args:
      directory: the folder of this phase's checkpoints (created if needed).
      model: a compiled model (its ``optimizer`` is saved too).
      max_to_keep: how many of the latest checkpoints to keep.
      restore_from: the folder to resume from (default ``directory``). Non-chief workers save
        to a scratch folder but resume from the chief's checkpoints, so that after a restart
        every worker continues from the same epoch.
    """

    def __init__(self, directory, model: tf.keras.Model, max_to_keep: int = KEEP_CHECKPOINTS,
                 restore_from=None):
        self.directory = Path(directory)
        self.restore_from = Path(restore_from) if restore_from else self.directory
        self.restored: str | None = None  # the checkpoint restore_latest restored
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer,
                                              epoch=self.epoch)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory),
                                                  max_to_keep=max_to_keep)

    @property
    def latest(self) -> str | None:
        """Path prefix of the latest complete checkpoint, or None."""
        return self.manager.latest_checkpoint

    def save(self, epoch: int) -> str:
        """Checkpoint the state after ``epoch`` finished epochs; returns its path prefix."""
        self.epoch.assign(epoch)
        return self.manager.save(checkpoint_number=epoch)

    def restore_latest(self) -> int:
        """Restore the latest checkpoint, if any; returns the finished epochs it holds (or 0).

        Every variable the model and optimiser already have must be in the checkpoint (a
        checkpoint of another architecture or size fails here, naming the mismatch).
        """
        path = tf.train.latest_checkpoint(str(self.restore_from))
        if path is None:
            return 0
        self.restored = path
        status = self.checkpoint.restore(path)
        status.assert_existing_objects_matched()
        return int(self.epoch.numpy())
