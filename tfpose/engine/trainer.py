"""The base of the loss-owning training wrappers: :class:`WrapperTrainer`.

A wrapper trainer is a ``tf.keras.Model`` around one wrapped model (the model that is trained
and deployed) that owns its loss: ``compile`` takes an optimiser and the loss's settings, ``fit``
and ``evaluate`` log one mean per loss term, and calling it or ``predict`` gives the wrapped
model's outputs. :class:`~.distiller.Distiller` (student against a frozen teacher) and
:class:`~.bottomup_trainer.BottomUpTrainer` (LitePose) are the two.

What the base owns: the metric trackers (one ``Mean`` per logged name), the train / test steps
(run the wrapped model, compute the loss, update only the wrapped model's variables), the
replica-correct loss (each replica's share of the mean over the *global* batch, plus the wrapped
model's regularisation losses) and the refusal to be saved whole. A subclass gives the
per-example loss terms (:meth:`WrapperTrainer.example_terms`) and, if its batches are not Keras
``(x, y, sample_weight)`` tuples, how to unpack them (:meth:`WrapperTrainer.unpack`).
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

# compile() arguments of plain Keras models that a wrapper trainer replaces with its own loss.
REPLACED_COMPILE_ARGS = ("loss", "metrics", "loss_weights", "weighted_metrics")


def images_of(inputs):
    """The images of ``inputs``: a batch dict's ``image``, or ``inputs`` themselves."""
    return inputs["image"] if isinstance(inputs, dict) else inputs


class WrapperTrainer(tf.keras.Model):
    """A Keras model that trains one wrapped model with a loss of its own (module docstring).

    Subclasses implement :meth:`example_terms`, call :meth:`reject_keras_loss_args` and then
    ``super().compile(optimizer, metric_names=..., **kwargs)`` in their ``compile``, and set:

    * ``wrapped_attribute``: the attribute holding the wrapped model (``"student"``,
      ``"model"``). It names the model in checkpoints (``save_weights``, ``tf.train``), so
      renaming it breaks resuming from older checkpoints;
    * ``instance_name``: how error messages call an instance (``"distiller"``).

    Under ``tf.distribute`` build the wrapped model and the trainer and call ``compile`` inside
    ``strategy.scope()``.

    Args:
      model: the wrapped model, stored as ``self.<wrapped_attribute>``.
      name: the trainer's Keras name.
    """

    wrapped_attribute = "model"
    instance_name = "trainer"

    def __init__(self, model: tf.keras.Model, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        setattr(self, self.wrapped_attribute, model)
        self._trackers = []

    @property
    def wrapped(self) -> tf.keras.Model:
        """The wrapped model: what is trained, called, and should be saved."""
        return getattr(self, self.wrapped_attribute)

    def reject_keras_loss_args(self, kwargs: dict, hint: str) -> None:
        """Raise if ``compile`` got a plain Keras loss or metrics argument; ``hint`` says what
        to pass instead."""
        replaced = sorted(set(REPLACED_COMPILE_ARGS) & kwargs.keys())
        if replaced:
            raise ValueError(f"{type(self).__name__}.compile does not take {replaced}: {hint}")

    def compile(self, optimizer="adam", *, metric_names: Sequence[str], **kwargs):
        """Set the optimizer and log a mean of each of ``metric_names`` (``"loss"`` among them).

        Args:
          optimizer: any Keras optimizer or its name.
          metric_names: the keys of :meth:`example_terms`, in the order they are logged.
          kwargs: other ``tf.keras.Model.compile`` arguments (``run_eagerly``,
            ``steps_per_execution``, ``jit_compile``).
        """
        if "loss" not in metric_names or len(set(metric_names)) < len(metric_names):
            raise ValueError(f"metric_names must hold 'loss' and differ, got {metric_names}")
        super().compile(optimizer=optimizer, **kwargs)
        with self.distribute_strategy.scope():
            self._trackers = [tf.keras.metrics.Mean(name) for name in metric_names]

    @property
    def metrics(self):
        # Listed here so that Keras resets them at each epoch and logs them.
        return list(self._trackers)

    def unpack(self, data) -> tuple:
        """``(x, y, sample_weight)`` of a batch; Keras tuples by default."""
        return tf.keras.utils.unpack_x_y_sample_weight(data)

    def example_terms(self, x, y, y_pred, sample_weight) -> dict[str, tf.Tensor]:
        """Per-example loss terms of one batch, each ``[B]`` float32, keyed by the metric names;
        ``"loss"`` is the weighted total without regularisation. Subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement example_terms")

    # Keras AutoGraph-converts every layer's call inside a traced step; for Larq's layers that
    # dominates the first step (tiny BiHRNet + HRNet, 2 CPU cores: first fit 85 s -> 28 s,
    # first predict 6.8 s -> 2.6 s). The steps below and our models have no data-dependent
    # Python control flow, so nothing needs converting.
    @tf.autograph.experimental.do_not_convert
    def call(self, inputs, training=None):
        """The wrapped model's outputs; ``inputs`` are images or a batch dict with ``image``."""
        return self.wrapped(images_of(inputs), training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
        """This replica's loss for one batch (see :meth:`example_terms`); updates the metrics.

        Returns:
          scalar: the sum of this replica's per-example totals divided by the global batch
          size, plus the wrapped model's regularisation losses divided by the number of
          replicas, so that the gradients summed over replicas equal single-device ones.
        """
        if not self._trackers:
            raise RuntimeError(f"compile the {type(self).__name__} before training or "
                               "evaluating it")
        terms = self.example_terms(x, y, y_pred, sample_weight)
        loss = tf.nn.compute_average_loss(terms["loss"])
        if self.wrapped.losses:
            regularization = tf.add_n(self.wrapped.losses)
            loss += tf.nn.scale_regularization_loss(regularization)
            terms["loss"] += regularization
        for tracker in self._trackers:
            tracker.update_state(terms[tracker.name])
        return loss

    @tf.autograph.experimental.do_not_convert
    def train_step(self, data):
        x, y, sample_weight = self.unpack(data)
        with tf.GradientTape() as tape:
            y_pred = self.wrapped(images_of(x), training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        # Only the wrapped model learns (a Distiller's teacher is frozen).
        self.optimizer.minimize(loss, self.wrapped.trainable_variables, tape=tape)
        return {metric.name: metric.result() for metric in self.metrics}

    @tf.autograph.experimental.do_not_convert
    def test_step(self, data):
        x, y, sample_weight = self.unpack(data)
        self.compute_loss(x, y, self.wrapped(images_of(x), training=False), sample_weight)
        return {metric.name: metric.result() for metric in self.metrics}

    @tf.autograph.experimental.do_not_convert
    def predict_step(self, data):
        return super().predict_step(data)

    def get_config(self):
        raise NotImplementedError(f"a {type(self).__name__} is not serialisable: save "
                                  f"{self.instance_name}.{self.wrapped_attribute}")

    def save(self, *args, **kwargs):
        wrapped = f"{self.instance_name}.{self.wrapped_attribute}"
        raise NotImplementedError(
            f"a {type(self).__name__} is a training wrapper: save the deployable model with "
            f"{wrapped}.save(path), or checkpoint training with "
            f"{self.instance_name}.save_weights()")
