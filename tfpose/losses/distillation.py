"""KL distillation of heatmaps: BiHRNet's teacher term (arXiv 2311.10296).

Each keypoint channel of a heatmap is read as a distribution over its ``H * W`` positions by a
spatial softmax at temperature ``T``; the loss is ``KL(teacher || student)`` per channel, scaled
by ``T ** 2`` (Hinton et al., 2015: keeps gradient sizes comparable across temperatures).

The paper publishes neither ``T`` nor the loss weights. Our default ``T = 0.1`` is chosen for
models that regress Gaussian heatmaps in [0, 1] (HRNet, BiHRNet): at ``T = 1`` a softmax of values
in [0, 1] over 64 x 48 positions is almost uniform (measured: 2% of the mass within 2 sigma of
the keypoint for a sigma-2 target, entropy 8.03 of the maximum 8.03), so the KL carries almost
no information; at ``T = 0.1`` 95% of the mass lies within 2 sigma (softmax of ``g / T`` is about
a Gaussian of width ``sigma * sqrt(T)``). RTMPose's SimCC KL uses the same factor (``beta = 10``).
For teachers that emit logits (``output="sigmoid"``) ``T = 1`` is the natural start.
"""

from __future__ import annotations

import tensorflow as tf

from tfpose.losses.heatmap import PACKAGE, HeatmapLoss


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class HeatmapKLDivergence(HeatmapLoss):
    """``T^2 * KL(softmax(teacher / T) || softmax(student / T))`` per keypoint channel.

    The softmax runs over the ``H * W`` positions of each channel, so the loss is invariant to
    adding a per-channel constant to either input. The teacher (``y_true``) is wrapped in
    ``tf.stop_gradient``: no gradient reaches it even if the caller forgot to stop it.

    Call as ``loss(teacher_outputs, student_outputs, sample_weight=None)``:

    * ``y_true``: ``[B, H, W, K]`` teacher outputs (raw heatmaps or logits);
    * ``y_pred``: ``[B, H, W, K]`` student outputs, same kind;
    * ``sample_weight``: optional ``[B, K]`` per-keypoint weights (:class:`tfpose.distill.
      Distiller` passes none: the teacher's belief about an unlabelled joint is worth copying).

    :meth:`call` gives ``[B, K]``; the default reduction averages over keypoints and batch.

    Args:
      temperature: ``T`` > 0 (module docstring for the default).
    """

    def __init__(self, temperature: float = 0.1, name: str = "kl", **kwargs):
        super().__init__(name=name, **kwargs)
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = float(temperature)

    def keypoint_losses(self, y_true, y_pred):
        teacher = _spatial_log_softmax(tf.stop_gradient(y_true) / self.temperature)
        student = _spatial_log_softmax(y_pred / self.temperature)
        kl = tf.reduce_sum(tf.exp(teacher) * (teacher - student), axis=1)  # [B, K]
        return kl * self.temperature**2

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}


def _spatial_log_softmax(heatmaps):
    """``[B, H, W, K]`` -> ``[B, H * W, K]`` log-probabilities over positions per channel."""
    shape = tf.shape(heatmaps)
    flat = tf.reshape(heatmaps, [shape[0], shape[1] * shape[2], shape[3]])
    return tf.nn.log_softmax(flat, axis=1)
