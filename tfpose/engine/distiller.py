"""Knowledge distillation and two-stage binary training, as BiHRNet trains (arXiv 2311.10296).

:class:`Distiller` trains a student (BiHRNet) against a frozen real-valued teacher (HRNet) and the
ground truth::

    loss = kl_weight * KL(teacher || student) + heatmap_weight * AWing(ground truth, student)

Both terms are per-keypoint means (see :mod:`tfpose.losses.heatmap`); the ground-truth term is
weighted by the pipeline's ``target_weight``, the KL term is not. The paper publishes neither
weight. The defaults (:class:`tfpose.config.DistillConfig`: ``kl_weight`` 0.05, ``heatmap_weight``
1, KL at T = 0.1 without a T² factor) give the KL term about half of the gradient reaching the
student's heatmaps at the start of stage 1; :mod:`tfpose.losses.distillation` derives and
measures them. The Distiller logs each term's share, so a run shows how the balance moves.

Two-stage training (ReActNet's recipe, used by BiHRNet): stage 1 trains a student with binary
activations and real-valued weights (``QuantPolicy().stage_one()``); stage 2 starts the fully
binary student from it (:func:`stage_two_from`) and trains again.

Saving: the Distiller is only a training wrapper (a :class:`~.trainer.WrapperTrainer`).
Deploy, convert or evaluate ``distiller.student`` (``distiller.student.save("model.keras")``);
checkpoint a run with ``distiller.save_weights(...)`` (TF checkpoint format). ``distiller.save``
raises.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from tfpose.config import DistillConfig
from tfpose.engine.trainer import WrapperTrainer
from tfpose.losses.distillation import HeatmapKLDivergence
from tfpose.losses.heatmap import AdaptiveWingLoss, HeatmapLoss


class Distiller(WrapperTrainer):
    """A student trained to match a frozen teacher's heatmaps and the ground truth.

    ``fit`` takes the top-down pipeline's batches (:func:`tfpose.data.topdown.topdown_dataset`):
    dicts with ``image`` ``[B, H, W, 3]``, ``heatmaps`` ``[B, h, w, K]`` and optionally
    ``target_weight`` ``[B, K]`` (other keys are ignored), or ``(image, heatmaps[, weights])``
    tuples. Calling the Distiller, ``predict`` and ``evaluate`` use the student.

    Logged metrics (means over the epoch's examples; ``val_`` ones on validation data):

    * ``loss``: the weighted total;
    * ``kl`` and ``awing``: the unweighted terms;
    * ``kl_loss_share``: the weighted KL term's share of the two weighted terms,
      ``kl_weight * KL / (kl_weight * KL + heatmap_weight * AWing)``;
    * ``kl_grad_share``: the weighted KL term's share of the gradient reaching the student's
      output heatmaps, ``|g_KL| / (|g_KL| + |g_AWing|)`` with ``g`` the gradient of each weighted
      term with respect to the example's heatmaps and ``|.|`` its L2 norm: 0.5 when both terms
      pull equally hard. This is what the weights balance; the loss values are not (their
      scales differ, measured in :mod:`tfpose.losses.distillation`).

    The names follow the loss objects' ``name`` (``kl``, ``awing``): another ``heatmap_loss`` or
    a renamed KL logs under its own name, e.g. ``distil_grad_share``. Each share is computed per
    example (0 when both terms are 0) and averaged, so it is the same on any number of replicas;
    the student's regularisation losses do not count (they do not act on the heatmaps).

    Under ``tf.distribute`` build the teacher, student and Distiller and call ``compile`` inside
    ``strategy.scope()``. Each replica's loss is its share of the mean over the *global* batch
    (:func:`tf.nn.compute_average_loss`), so the summed gradients equal single-device ones.

    Args:
      student: the model to train, ``[B, H, W, 3]`` -> ``[B, h, w, K]``.
      teacher: a trained model with the same input and output shapes; frozen here
        (``trainable = False``) and always run with ``training=False``.
    """

    wrapped_attribute = "student"
    instance_name = "distiller"

    def __init__(self, student: tf.keras.Model, teacher: tf.keras.Model, name="distiller",
                 **kwargs):
        super().__init__(student, name=name, **kwargs)
        _check_same_output_shape(student, teacher)
        teacher.trainable = False
        self.teacher = teacher

    def compile(self, optimizer="adam", *, kl_weight: float = DistillConfig.kl_weight,
                heatmap_weight: float = DistillConfig.heatmap_weight,
                kl: HeatmapLoss | None = None, heatmap_loss: HeatmapLoss | None = None, **kwargs):
        """Set the optimizer and the loss (see the module docstring).

        Args:
          optimizer: any Keras optimizer or its name.
          kl_weight: lambda of the KL term (default: :class:`~tfpose.config.DistillConfig`'s,
            chosen for the default ``kl``; see the module docstring).
          heatmap_weight: lambda of the ground-truth term (AWing by default).
          kl: the distillation loss (default ``HeatmapKLDivergence()``: T = 0.1, no T²).
          heatmap_loss: the ground-truth loss (default ``AdaptiveWingLoss()``).
          kwargs: other ``tf.keras.Model.compile`` arguments (``run_eagerly``,
            ``steps_per_execution``, ``jit_compile``); not ``loss`` or ``metrics``.
        """
        self.reject_keras_loss_args(
            kwargs, "pass kl=, heatmap_loss=, kl_weight=, heatmap_weight= instead")
        kl = kl if kl is not None else HeatmapKLDivergence()
        heatmap_loss = heatmap_loss if heatmap_loss is not None else AdaptiveWingLoss()
        for arg, loss in (("kl", kl), ("heatmap_loss", heatmap_loss)):
            if not isinstance(loss, HeatmapLoss):
                raise TypeError(f"{arg} must be a tfpose heatmap loss (tfpose.losses), got "
                                f"{type(loss).__name__}")
        if kl_weight < 0 or heatmap_weight < 0 or kl_weight + heatmap_weight == 0:
            raise ValueError(f"loss weights must be >= 0 and not both 0, got kl_weight="
                             f"{kl_weight}, heatmap_weight={heatmap_weight}")
        names = ["loss", kl.name, heatmap_loss.name, f"{kl.name}_loss_share",
                 f"{kl.name}_grad_share"]
        if len(set(names)) < len(names):
            raise ValueError(f"the logged names {names} must differ: rename a loss (name=...)")
        self.kl = kl
        self.heatmap_loss = heatmap_loss
        self.kl_weight = float(kl_weight)
        self.heatmap_weight = float(heatmap_weight)
        super().compile(optimizer, metric_names=names, **kwargs)

    def example_terms(self, x, y, y_pred, sample_weight) -> dict[str, tf.Tensor]:
        """The logged terms of each example, ``[B]`` each, keyed by their names (class
        docstring); ``compute_loss`` averages them over the global batch.

        Args:
          x: images ``[B, H, W, 3]`` (the teacher's input).
          y: ground-truth heatmaps ``[B, h, w, K]``.
          y_pred: the student's outputs for ``x``, ``[B, h, w, K]``.
          sample_weight: target weights ``[B, K]`` (or ``[B]``), None for all ones.
        """
        teacher = tf.stop_gradient(tf.cast(self.teacher(x, training=False), tf.float32))
        y_pred = tf.cast(y_pred, tf.float32)
        weights = None if sample_weight is None else _keypoint_weights(sample_weight)
        kl, truth = self._terms(teacher, y, y_pred, weights)
        kl_gradient, truth_gradient = self._gradient_norms(teacher, y, y_pred, weights)
        name = self.kl.name
        return {"loss": self.kl_weight * kl + self.heatmap_weight * truth, name: kl,
                self.heatmap_loss.name: truth,
                f"{name}_loss_share": _share(self.kl_weight * kl, self.heatmap_weight * truth),
                f"{name}_grad_share": _share(kl_gradient, truth_gradient)}

    def _terms(self, teacher, truth, y_pred, weights):
        """The unweighted KL and ground-truth terms of each example, ``[B]`` each."""
        kl = tf.reduce_mean(self.kl.call(teacher, y_pred), axis=-1)
        keypoint_losses = self.heatmap_loss.call(truth, y_pred)  # [B, K]
        if weights is not None:
            keypoint_losses *= weights
        return kl, tf.reduce_mean(keypoint_losses, axis=-1)

    def _gradient_norms(self, teacher, truth, y_pred, weights):
        """L2 norms of the gradients of the *weighted* KL and ground-truth terms with respect
        to each example's output heatmaps, ``[B]`` each: how hard each term pulls the student.

        A diagnostic: it starts from ``stop_gradient(y_pred)``, so nothing here reaches the
        student's weights. Example ``b``'s terms depend on ``y_pred[b]`` only, so the gradient of
        the batch sum holds each example's own gradient, whatever the replica's batch size.
        """
        y_pred = tf.stop_gradient(y_pred)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(y_pred)
            kl, truth = self._terms(teacher, truth, y_pred, weights)
            weighted = (self.kl_weight * tf.reduce_sum(kl),
                        self.heatmap_weight * tf.reduce_sum(truth))
        norms = [tf.sqrt(tf.reduce_sum(tf.square(tape.gradient(term, y_pred)), axis=[1, 2, 3]))
                 for term in weighted]
        del tape
        return norms

    def unpack(self, data):
        """``(images, heatmaps, target_weight or None)`` from a batch dict or a Keras tuple."""
        if isinstance(data, dict):
            missing = [key for key in ("image", "heatmaps") if key not in data]
            if missing:
                raise ValueError(f"Distiller batches need keys 'image' and 'heatmaps' (top-down "
                                 f"pipeline); missing {missing}, got {sorted(data)}")
            return data["image"], data["heatmaps"], data.get("target_weight")
        x, y, sample_weight = tf.keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            raise ValueError("Distiller batches need ground-truth heatmaps: pass (images, "
                             "heatmaps[, target_weight]) or a dict with 'image' and 'heatmaps'")
        return x, y, sample_weight


def transfer_weights(source: tf.keras.Model, target: tf.keras.Model) -> None:
    """Copy ``source``'s weights into ``target`` layer by layer, matching layers by name.

    Both models must have the same weighted layers (names and weight shapes), e.g. the same
    architecture built with different quantisers. After copying, every target variable's
    constraint is applied, so a binary kernel with Larq's ``weight_clip`` starts in [-1, 1].
    """
    source_layers = {layer.name: layer for layer in source.layers if layer.weights}
    target_layers = {layer.name: layer for layer in target.layers if layer.weights}
    if source_layers.keys() != target_layers.keys():
        only_target = sorted(target_layers.keys() - source_layers.keys())
        only_source = sorted(source_layers.keys() - target_layers.keys())
        raise ValueError(f"{source.name} and {target.name} have different layers: only in the "
                         f"target {only_target[:5]}, only in the source {only_source[:5]}")
    for name, layer in target_layers.items():
        weights = source_layers[name].get_weights()
        expected = [tuple(w.shape) for w in layer.weights]
        found = [w.shape for w in weights]
        if expected != found:
            raise ValueError(f"layer {name!r}: weight shapes differ, target {expected}, "
                             f"source {found}")
        layer.set_weights(weights)
    for variable in target.weights:
        if getattr(variable, "constraint", None) is not None:
            variable.assign(variable.constraint(variable))


def stage_two_from(stage_one: tf.keras.Model,
                   build_fn: Callable[[], tf.keras.Model]) -> tf.keras.Model:
    """The fully binary model of the second training stage, initialised from stage one.

    Args:
      stage_one: the trained stage-1 model (binary activations, real weights), e.g.
        ``create("bihrnet_w32", policy=QuantPolicy().stage_one())``.
      build_fn: builds the same architecture fully binary, e.g.
        ``lambda: create("bihrnet_w32")``. Under ``tf.distribute`` call this in
        ``strategy.scope()``.
    Returns:
      the new model. Every weight is copied by layer name (latent real-valued kernels keep their
      values, clipped to the weight clip); batch-norm statistics, shifts and RPReLU parameters
      carry over. Optimizer state does not: compile it afresh.
    """
    model = build_fn()
    transfer_weights(stage_one, model)
    return model


def _share(part, other):
    """``part / (part + other)`` elementwise, 0 where both are 0 (nothing to share)."""
    return tf.math.divide_no_nan(part, part + other)


def _keypoint_weights(sample_weight):
    """``[B, K]`` weights as float32; ``[B]`` per-example weights become ``[B, 1]``."""
    weights = tf.cast(sample_weight, tf.float32)
    if weights.shape.rank == 1:
        return weights[:, None]
    if weights.shape.rank != 2:
        raise ValueError(f"target weights must be [B, K] or [B], got shape {weights.shape}")
    return weights


def _check_same_output_shape(student, teacher):
    shapes = []
    for role, model in (("student", student), ("teacher", teacher)):
        outputs = getattr(model, "outputs", None)
        if not outputs:  # a subclassed model not yet built: its first call will tell
            return
        if len(outputs) != 1:
            raise ValueError(f"the {role} {model.name} has {len(outputs)} outputs; the "
                             "Distiller needs models with one heatmap output")
        shapes.append(tuple(outputs[0].shape[1:]))
    if shapes[0] != shapes[1]:
        raise ValueError(f"student {student.name} outputs {shapes[0]} but teacher {teacher.name} "
                         f"outputs {shapes[1]}: the KL term compares them position by position")
