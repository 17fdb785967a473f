"""Bottom-up (LitePose) training: the loss-owning training model (Wang et al., "Lite Pose",
CVPR 2022; the loss is HigherHRNet's, Cheng et al., CVPR 2020).

:class:`BottomUpTrainer` wraps a model with outputs ``[[B, H/4, W/4, K + K D], [B, H/2, W/2, K],
...]`` (:func:`tfpose.models.litepose.litepose`) and fits the batches of
:func:`tfpose.data.bottomup.bottomup_dataset`. Per image::

    loss = sum_s  w_s * mean_{pixels, joints}( mask_s * (heatmap_s - target_s)^2 )
           + pull_weight * pull + push_weight * push

The heatmap term is a plain mean over all ``h * w * K`` positions, masked ones counting as 0
(HigherHRNet's / LitePose's ``HeatmapLoss``: not re-normalised by the mask's area), with
``w_s = 1`` at every stride by default (LitePose's ``HEATMAPS_LOSS_FACTOR``). The tag term is the
associative-embedding loss (:class:`tfpose.losses.associative_embedding.AssociativeEmbeddingLoss`,
"exp" push, weights 1e-3) on the first output's tag maps only (LitePose's ``WITH_AE_LOSS:
[True, False]``). The batch loss is the mean over the global batch. The train / test steps,
metrics and saving are :class:`~.trainer.WrapperTrainer`'s.

Evaluation is :mod:`tfpose.evaluation.bottomup`.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from tfpose.engine.trainer import WrapperTrainer
from tfpose.losses.associative_embedding import AssociativeEmbeddingLoss


class BottomUpTrainer(WrapperTrainer):
    """Trains a bottom-up model (LitePose) with heatmap MSE at every stride + the AE tag loss.

    ``fit`` / ``evaluate`` take the dict batches of :func:`tfpose.data.bottomup.bottomup_dataset`
    (``image``, ``heatmaps_s{s}``, ``masks_s{s}`` for every output stride ``s``, ``joints``;
    other keys are ignored). Calling the trainer and ``predict`` give the wrapped model's
    outputs (the input may be images or a batch dict).

    Logged metrics (each a mean over the examples seen): ``loss`` (the weighted total, what is
    minimised), ``heatmap_s{s}`` per stride, ``pull`` and ``push`` (unweighted, per-image terms
    as in :mod:`tfpose.losses.associative_embedding`).

    Under ``tf.distribute`` build the model and the trainer and call ``compile`` inside
    ``strategy.scope()``: each replica's loss is its share of the mean over the *global* batch
    (:func:`tf.nn.compute_average_loss`), so summed gradients equal single-device ones.

    Saving: the trainer is a training wrapper. Save or convert ``trainer.model``; checkpoint a
    run with ``trainer.save_weights(...)``. ``trainer.save`` raises.

    Args:
      model: a built Keras model ``[B, H, W, 3] -> [[B, H/s0, W/s0, K (1 + D)], [B, H/s1, W/s1,
        K], ...]`` with static shapes: K heatmaps then ``K * D`` tag maps at the first stride,
        K heatmaps at the others. Strides, ``K`` and ``D`` are read from its shapes.
    """

    wrapped_attribute = "model"
    instance_name = "trainer"

    def __init__(self, model: tf.keras.Model, name: str = "bottomup_trainer", **kwargs):
        super().__init__(model, name=name, **kwargs)
        self.strides, self.num_keypoints, self.tag_dim = bottomup_layout(model)
        self.heatmap_weights = (1.0,) * len(self.strides)
        self.tag_loss = AssociativeEmbeddingLoss(tag_dim=self.tag_dim)

    def compile(self, optimizer="adam", *, heatmap_weights: Sequence[float] | None = None,
                pull_weight: float = 1e-3, push_weight: float = 1e-3, push: str = "exp",
                **kwargs):
        """Set the optimizer and the loss weights (see the module docstring).

        Args:
          optimizer: any Keras optimizer or its name (LitePose: Adam, learning rate 4e-3).
          heatmap_weights: ``w_s``, one per output stride (default 1 for all).
          pull_weight, push_weight: weights of the tag loss terms (1e-3 in LitePose).
          push: ``"exp"`` (LitePose, HigherHRNet) or ``"max"``.
          kwargs: other ``tf.keras.Model.compile`` arguments (``run_eagerly``,
            ``steps_per_execution``, ``jit_compile``); not ``loss`` or ``metrics``.
        """
        self.reject_keras_loss_args(
            kwargs, "the loss is fixed; pass heatmap_weights=, pull_weight=, push_weight=, push=")
        weights = (1.0,) * len(self.strides) if heatmap_weights is None else heatmap_weights
        weights = tuple(float(w) for w in weights)
        if len(weights) != len(self.strides) or min(weights) < 0:
            raise ValueError(f"heatmap_weights needs one weight >= 0 per output stride "
                             f"{self.strides}, got {heatmap_weights}")
        self.heatmap_weights = weights
        self.tag_loss = AssociativeEmbeddingLoss(pull_weight, push_weight, push,
                                                 tag_dim=self.tag_dim)
        super().compile(optimizer, metric_names=self.metric_names, **kwargs)

    @property
    def metric_names(self) -> list[str]:
        return ["loss", *(f"heatmap_s{s}" for s in self.strides), "pull", "push"]

    def loss_terms(self, batch: dict, outputs) -> dict[str, tf.Tensor]:
        """Per-image loss terms, each ``[B]`` float32, keyed as the metrics.

        Args:
          batch: a bottom-up batch dict (``heatmaps_s{s}`` ``[B, H/s, W/s, K]``, ``masks_s{s}``
            ``[B, H/s, W/s, 1]``, ``joints`` ``[B, M, K, 2]``).
          outputs: the model's outputs for ``batch["image"]``, one tensor per stride.
        Returns:
          ``{"loss": weighted total, "heatmap_s{s}": masked MSE, "pull", "push"}``, unweighted
          terms except ``loss``.
        """
        _check_batch(batch, self.strides)
        outputs = [tf.cast(o, tf.float32) for o in tf.nest.flatten(outputs)]
        if len(outputs) != len(self.strides):
            raise ValueError(f"expected {len(self.strides)} outputs (strides {self.strides}), "
                             f"got {len(outputs)}")
        k = self.num_keypoints
        terms, total = {}, 0.0
        for stride, output, weight in zip(self.strides, outputs, self.heatmap_weights,
                                          strict=True):
            target = tf.cast(batch[f"heatmaps_s{stride}"], tf.float32)
            if target.shape[-1] not in (None, k):
                raise ValueError(f"the batch has {target.shape[-1]} keypoints, the model "
                                 f"predicts {k}: use the model's keypoint set")
            mask = tf.cast(batch[f"masks_s{stride}"], tf.float32)
            squared = mask * tf.square(output[..., :k] - target)
            terms[f"heatmap_s{stride}"] = tf.reduce_mean(squared, axis=[1, 2, 3])
            total += weight * terms[f"heatmap_s{stride}"]
        pull, push = self.tag_loss.pull_push(batch["joints"], outputs[0][..., k:])
        terms["pull"], terms["push"] = pull, push
        total += self.tag_loss.pull_weight * pull + self.tag_loss.push_weight * push
        return {"loss": total, **terms}

    def example_terms(self, x, y, y_pred, sample_weight) -> dict[str, tf.Tensor]:
        """:meth:`loss_terms` of the batch dict ``x`` and outputs ``y_pred`` (the targets are in
        the batch: ``y`` and ``sample_weight`` are unused)."""
        return self.loss_terms(x, y_pred)

    def unpack(self, data):
        """``(batch dict, None, None)``: the targets stay in the batch for :meth:`loss_terms`."""
        if not isinstance(data, dict):
            raise ValueError("BottomUpTrainer takes the dict batches of tfpose.data.bottomup."
                             f"bottomup_dataset, got {type(data).__name__}")
        return data, None, None


def bottomup_layout(model: tf.keras.Model) -> tuple[tuple[int, ...], int, int]:
    """``(strides, K, D)`` of a bottom-up model from its static input and output shapes."""
    inputs, outputs = getattr(model, "inputs", None), getattr(model, "outputs", None)
    if not inputs or not outputs:
        raise ValueError(f"{model.name} is not a built functional model: BottomUpTrainer reads "
                         "strides and channels from its static input and output shapes")
    height, width = inputs[0].shape[1:3]
    strides = []
    for output in outputs:
        out_h, out_w = output.shape[1:3]
        if None in (height, width, out_h, out_w) or height % out_h or width % out_w \
                or height // out_h != width // out_w:
            raise ValueError(f"{model.name}: output {tuple(output.shape)} is not a fixed "
                             f"fraction of the input {tuple(inputs[0].shape)}")
        strides.append(height // out_h)
    channels = [int(o.shape[-1]) for o in outputs]
    k = channels[1] if len(channels) > 1 else channels[0] // 2
    if k < 1 or channels[0] <= k or channels[0] % k or any(c != k for c in channels[1:]):
        raise ValueError(f"{model.name}: outputs have {channels} channels; expected K heatmaps + "
                         f"K * D tags first, then K heatmaps per further output")
    return tuple(strides), k, channels[0] // k - 1


def _check_batch(batch, strides) -> None:
    needed = ["joints", *(f"{kind}_s{s}" for s in strides for kind in ("heatmaps", "masks"))]
    missing = [key for key in needed if key not in batch]
    if missing:
        raise ValueError(f"the batch lacks {missing} (model strides {strides}); got keys "
                         f"{sorted(batch)}: build it with a BottomUpCodec of the same strides")
