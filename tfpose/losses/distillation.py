"""KL distillation of heatmaps: BiHRNet's teacher term (arXiv 2311.10296).

Each keypoint channel of a heatmap is read as a distribution over its ``H * W`` positions by a
spatial softmax at temperature ``T``; the loss is ``KL(teacher || student)`` per channel. The
paper publishes neither ``T`` nor the loss weights; our defaults (:class:`tfpose.config.
DistillConfig`) are T = 0.1, no T² factor, ``kl_weight`` 0.05 next to AWing at weight 1, for
the reasons below.

**Temperature.** ``T = 0.1`` suits models that regress Gaussian heatmaps in [0, 1] (HRNet,
BiHRNet): at ``T = 1`` a softmax of values in [0, 1] over 64 x 48 positions is almost uniform
(measured: 2% of the mass within 2 sigma of the keypoint for a sigma-2 target, entropy 8.03 of
the maximum 8.03), so the KL carries almost no information; at ``T = 0.1`` 95% of the mass lies
within 2 sigma (softmax of ``g / T`` is about a Gaussian of width ``sigma * sqrt(T)``). RTMPose's
SimCC KL uses the same factor (``beta = 10``). For teachers that emit logits (``output=
"sigmoid"``) ``T = 1`` is the natural start.

**No T² factor at T < 1.** With ``p = softmax(t / T)`` (teacher) and ``q = softmax(s / T)``
(student) over a channel's ``N`` positions, ``d KL / d s_i = (q_i - p_i) / T``, and
``|q - p|_2 <= sqrt(2)`` always. Hinton et al. (2015) multiply the soft term by ``T²`` for the
regime of high temperatures: once ``T`` is well above the spread of the inputs, ``q - p ~
((s - mean s) - (t - mean t)) / (N T)``, so the gradient shrinks as ``1 / T²`` and ``T²`` keeps
the soft term's weight independent of ``T``. Heatmaps at ``T = 0.1`` are the other regime: both
softmaxes are peaked, ``q - p`` stays of order 1 and the gradient grows about as ``1 / T``; a
``T²`` factor would make it shrink as ``T``, 100x below the unscaled gradient at ``T = 0.1``.
Measured at the start of stage 1 (small preset: 96x64 inputs, 24x16 heatmaps; an untrained
stage-1 BiHRNet-W16, whose outputs spread with std 3.0-3.2, against the HRNet-W16 teacher of
``benchmarks/ablations.py`` (3600 steps); 128 augmented training crops for each of two student
initialisations, the two agreeing within 2%): the L2 norm of the KL's gradient with respect to
an example's heatmaps falls with log-log slope -1.10 from T = 0.03 to 0.1 and -1.16 from 0.1 to
0.2, and as 1/T² or faster above T = 0.5 (slopes -2.1 to -2.2, -2.7, -2.3 over 0.5-1, 1-2,
2-5; ``tests/losses/test_distillation.py`` checks both regimes on a codec heatmap). So the
factor does not apply here and is off by default (``scale_by_t2=True`` restores it, e.g. for
logits at T >= 1). Because the pull grows as 1/T, scale ``kl_weight`` with ``T`` when changing
``T`` (0.1 at T = 0.2) to keep the balance, or watch :class:`~tfpose.engine.distiller.Distiller`'s
``kl_grad_share``.

**Weights.** The two weights balance the terms' *gradients* at the student's heatmaps, not their
values, whose scales are unrelated (same measurement: AWing 18-21, unscaled KL 58-61 nats per
keypoint). The unscaled KL's gradient is 20x as long as AWing's (mean norms 2.28 vs 0.114), so
``kl_weight = 0.05`` gives the KL half of it: per-example share ``|g_KL| / (|g_KL| + |g_AWing|)``
0.50 (0.38 at weight 0.03, 0.67 at 0.1), and 15% of the weighted loss. The former default
(weight 1 with T², i.e. 0.01 unscaled) gave it 17% of the gradient and 4% of the loss. At that
point the two gradients are nearly orthogonal (cosine 0.05): AWing mostly pushes the untrained
student's background towards 0, while the KL, zero-sum in each channel, moves each channel's
mass towards the teacher's peak. The balance moves during training; the Distiller logs it
(``benchmarks/ablations.md`` lists it per run).
"""

from __future__ import annotations

import tensorflow as tf

from tfpose.losses.heatmap import PACKAGE, HeatmapLoss


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class HeatmapKLDivergence(HeatmapLoss):
    """``KL(softmax(teacher / T) || softmax(student / T))`` per keypoint channel (times ``T^2``
    with ``scale_by_t2``).

    The softmax runs over the ``H * W`` positions of each channel, so the loss is invariant to
    adding a per-channel constant to either input. The teacher (``y_true``) is wrapped in
    ``tf.stop_gradient``: no gradient reaches it even if the caller forgot to stop it.

    Call as ``loss(teacher_outputs, student_outputs, sample_weight=None)``:

    * ``y_true``: ``[B, H, W, K]`` teacher outputs (raw heatmaps or logits);
    * ``y_pred``: ``[B, H, W, K]`` student outputs, same kind;
    * ``sample_weight``: optional ``[B, K]`` per-keypoint weights (:class:`tfpose.engine.distiller.
      Distiller` passes none: the teacher's belief about an unlabelled joint is worth copying).

    :meth:`call` gives ``[B, K]``; the default reduction averages over keypoints and batch.

    Args:
      temperature: ``T`` > 0 (module docstring for the default).
      scale_by_t2: multiply by ``T^2`` (Hinton et al.), which keeps the gradient's size at high
        temperatures; off by default, where heatmaps at ``T = 0.1`` need no such factor (module
        docstring: measured).
    """

    def __init__(self, temperature: float = 0.1, scale_by_t2: bool = False, name: str = "kl",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = float(temperature)
        self.scale_by_t2 = bool(scale_by_t2)

    def keypoint_losses(self, y_true, y_pred):
        teacher = _spatial_log_softmax(tf.stop_gradient(y_true) / self.temperature)
        student = _spatial_log_softmax(y_pred / self.temperature)
        kl = tf.reduce_sum(tf.exp(teacher) * (teacher - student), axis=1)  # [B, K]
        return kl * self.temperature**2 if self.scale_by_t2 else kl

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature,
                "scale_by_t2": self.scale_by_t2}


def _spatial_log_softmax(heatmaps):
    """``[B, H, W, K]`` -> ``[B, H * W, K]`` log-probabilities over positions per channel."""
    shape = tf.shape(heatmaps)
    flat = tf.reshape(heatmaps, [shape[0], shape[1] * shape[2], shape[3]])
    return tf.nn.log_softmax(flat, axis=1)
