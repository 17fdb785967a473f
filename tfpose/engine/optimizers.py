"""Optimisers and learning-rate schedules of a training phase (:class:`tfpose.config.TrainConfig`).

* ``adam``: Adam with the schedule below.
* ``bop``: larq's ``CaseOptimizer``: Bop (Helwegen et al., "Latent Weights Do Not Exist",
  NeurIPS 2019) flips the binary kernels of Larq layers; Adam with the schedule trains every
  other variable (batch norm, shortcuts, real-valued first and last layers). Larq's optimizers
  are Keras-2 "legacy" optimizers, so the Adam inside is ``tf.keras.optimizers.legacy.Adam``.

Schedules are functions of the optimiser's step counter (``optimizer.iterations``), which the
run's checkpoints save: a resumed run continues the schedule where it stopped.

* ``cosine`` (default): ``learning_rate -> learning_rate * final_lr_fraction`` over the phase's
  steps, after an optional linear warm-up.
* ``constant``: ``learning_rate`` throughout.
* ``step``: ``learning_rate``, multiplied by ``lr_step_factor`` (0.1) at the start of each epoch
  in ``lr_steps``: PyTorch's ``MultiStepLR`` stepped once per epoch, as LitePose's and HRNet's
  code use it (LitePose: 500 epochs, x0.1 at 350 and 480; HRNet: 210, at 170 and 200).
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf

from tfpose.config import TrainConfig


def learning_rate_schedule(config: TrainConfig, total_steps: int):
    """The schedule of ``config`` over ``total_steps`` optimiser steps (a float if constant)."""
    if config.schedule == "constant":
        return config.learning_rate
    if config.schedule == "step":
        return step_schedule(config, total_steps)
    decay_steps = max(1, total_steps - config.warmup_steps)
    if config.warmup_steps:
        return tf.keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps, alpha=config.final_lr_fraction,
            warmup_target=config.learning_rate, warmup_steps=config.warmup_steps)
    return tf.keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps, alpha=config.final_lr_fraction)


def step_schedule(config: TrainConfig, total_steps: int):
    """The ``step`` schedule over ``total_steps`` (``config.epochs`` epochs of equal length).

    Step ``s`` (the optimiser's 0-based counter) belongs to epoch ``s // steps_per_epoch``; the
    rate drops before the first step of each ``lr_steps`` epoch, so epoch ``e`` trains at
    ``learning_rate * factor ** (number of lr_steps <= e)``, as ``MultiStepLR`` stepped after
    every epoch. Steps past the phase's end keep the last rate.
    """
    steps_per_epoch = max(1, total_steps // config.epochs)
    # PiecewiseConstantDecay keeps value i while step <= boundaries[i].
    boundaries = [epoch * steps_per_epoch - 1 for epoch in config.lr_steps]
    values = [config.learning_rate * config.lr_step_factor**i
              for i in range(len(boundaries) + 1)]
    return tf.keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


def make_optimizer(config: TrainConfig, total_steps: int):
    """A fresh optimiser for ``config`` (create it inside ``strategy.scope()``)."""
    schedule = learning_rate_schedule(config, total_steps)
    if config.optimizer == "adam":
        return tf.keras.optimizers.Adam(schedule)
    return lq.optimizers.CaseOptimizer(
        (lq.optimizers.Bop.is_binary_variable,
         lq.optimizers.Bop(threshold=config.bop_threshold, gamma=config.bop_gamma)),
        default_optimizer=tf.keras.optimizers.legacy.Adam(schedule))


def build_optimizer_state(model: tf.keras.Model) -> None:
    """Create the compiled optimiser's slot variables now, so that restoring a checkpoint fills
    them at once instead of waiting for the first step (the new Keras optimisers create them
    lazily and would otherwise start from zero moments)."""
    optimizer = model.optimizer
    with model.distribute_strategy.scope():
        if isinstance(optimizer, tf.keras.optimizers.Optimizer):
            optimizer.build(model.trainable_variables)
        # Legacy optimisers (Bop, CaseOptimizer) restore their slots on creation by themselves.


def optimizer_steps(optimizer) -> int:
    """Optimiser steps taken so far. larq's CaseOptimizer leaves its own counter at 0 and
    counts in the optimisers it wraps (each steps once per batch)."""
    if isinstance(optimizer, lq.optimizers.CaseOptimizer):
        return max(int(inner.iterations.numpy()) for inner in optimizer.optimizers)
    return int(optimizer.iterations.numpy())


def current_learning_rate(optimizer) -> float:
    """The learning rate the optimiser's next step uses (for logs and tests); for a
    CaseOptimizer, its default (Adam) optimiser's."""
    inner = optimizer.default if isinstance(optimizer, lq.optimizers.CaseOptimizer) else optimizer
    # The public ``learning_rate`` of the new Keras optimisers is the rate of the *last* step.
    rate = getattr(inner, "_learning_rate", None)
    if rate is None:  # legacy optimisers
        rate = inner._get_hyper("learning_rate")
    if isinstance(rate, tf.keras.optimizers.schedules.LearningRateSchedule):
        return float(rate(inner.iterations))
    return float(tf.keras.backend.get_value(rate))
