"""Heatmap losses for top-down pose models: AWing, keypoint MSE, sigmoid / regressive CE.

Every loss here is a ``tf.keras.losses.Loss`` called the Keras way,
``loss(y_true, y_pred, sample_weight=None)``:

* ``y_true``: ``[B, H, W, K]`` target heatmaps from :class:`tfpose.codecs.heatmap.HeatmapCodec`
  (Gaussians in [0, 1]);
* ``y_pred``: ``[B, H, W, K]`` raw model outputs (heatmaps for ``output="gaussian"`` models,
  logits for ``output="sigmoid"`` ones);
* ``sample_weight``: optional per-keypoint target weights ``[B, K]`` (the pipeline's
  ``target_weight``: 1 = labelled and on the heatmap, 0 = ignore), or per-example weights ``[B]``.

Reduction: :meth:`HeatmapLoss.call` returns one value per keypoint, ``[B, K]`` (the mean over
the ``H * W`` pixels). Keras multiplies it by ``sample_weight`` and, with the default
``SUM_OVER_BATCH_SIZE`` reduction, divides the sum by ``B * K``: the mean over keypoints and
examples in which ignored keypoints count as zeros. That is HRNet's / SimpleBaseline's convention
(``JointsMSELoss`` averages over all joints), so a crop with few labelled joints contributes less
instead of being re-normalised. Weights multiply the loss linearly; HRNet multiplies predictions
and targets by the weight before squaring, which is the same for 0/1 weights.

The classic ``JointsMSELoss`` also halves the MSE. :class:`KeypointMSE` does not (it is the
plain mean squared error, mmpose's ``KeypointMSELoss``): a constant factor only rescales the
learning rate of SGD and leaves Adam's steps unchanged (up to its epsilon), so Adam recipes
carry over.

:class:`SigmoidCrossEntropy` (binary hourglass, Bulat & Tzimiropoulos, ICCV 2017) and
:class:`RegressiveCrossEntropy` (FasterPose, arXiv 2107.03215) are the same formula, sigmoid
cross-entropy from logits against soft Gaussian targets; RCE is a subclass that only changes the
default name, so each paper's scripts can use its own name.
"""

from __future__ import annotations

import tensorflow as tf

from tfpose.layers.common import PACKAGE


class HeatmapLoss(tf.keras.losses.Loss):
    """Base of the heatmap losses: checks shapes, returns per-keypoint losses ``[B, K]``.

    Subclasses define :meth:`keypoint_losses` (or :meth:`pixel_loss`, averaged over pixels).
    """

    def call(self, y_true, y_pred):
        """``[B, K]`` loss per example and keypoint (see the module docstring)."""
        y_pred = tf.convert_to_tensor(y_pred)
        if not y_pred.dtype.is_floating:
            y_pred = tf.cast(y_pred, tf.float32)
        y_true = tf.cast(y_true, y_pred.dtype)
        if y_true.shape.rank != 4 or y_pred.shape.rank != 4 \
                or not y_true.shape.is_compatible_with(y_pred.shape):
            raise ValueError(
                f"{type(self).__name__}: y_true and y_pred must both be [B, H, W, K] heatmaps of "
                f"the same shape, got {y_true.shape} and {y_pred.shape}")
        return self.keypoint_losses(y_true, y_pred)

    def keypoint_losses(self, y_true, y_pred):
        """``[B, K]``: the mean of :meth:`pixel_loss` over the heatmap's pixels."""
        return tf.reduce_mean(self.pixel_loss(y_true, y_pred), axis=[1, 2])

    def pixel_loss(self, y_true, y_pred):
        """``[B, H, W, K]`` loss of every pixel (no shape checks; use for inspection)."""
        raise NotImplementedError


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class AdaptiveWingLoss(HeatmapLoss):
    """Adaptive Wing loss (Wang, Bo & Fuxin, "Adaptive Wing Loss for Robust Face Alignment via
    Heatmap Regression", ICCV 2019), BiHRNet's ground-truth term.

    Per pixel with target ``y``, prediction ``p`` and ``d = |y - p|``::

        d < theta:  omega * ln(1 + (d / epsilon) ** (alpha - y))
        otherwise:  A * d - C
        A = omega / (1 + (theta / epsilon) ** (alpha - y)) * (alpha - y)
            * (theta / epsilon) ** (alpha - y - 1) / epsilon
        C = theta * A - omega * ln(1 + (theta / epsilon) ** (alpha - y))

    The exponent uses the *target* ``y``: near a keypoint (``y`` -> 1) the loss is close to L1
    and keeps a strong gradient for small errors; on the background (``y`` -> 0) it is close to
    ``d ** 2.1`` and forgives small errors. ``A`` and ``C`` make both branches meet with equal
    value and slope at ``d = theta``. Targets must lie in [0, 1] (``alpha - y > 0``).

    The paper's weighted loss map (extra weight on dilated foreground) is not part of this loss.

    Args:
      alpha, omega, epsilon, theta: the paper's constants (2.1, 14, 1, 0.5).
    Shapes: ``y_true``, ``y_pred`` ``[B, H, W, K]``; ``sample_weight`` ``[B, K]``; see module.
    """

    def __init__(self, alpha: float = 2.1, omega: float = 14.0, epsilon: float = 1.0,
                 theta: float = 0.5, name: str = "awing", **kwargs):
        super().__init__(name=name, **kwargs)
        if alpha <= 1.0:
            raise ValueError(f"alpha must be > 1 so that alpha - y > 0 for targets in [0, 1], "
                             f"got {alpha}")
        for field, value in (("omega", omega), ("epsilon", epsilon), ("theta", theta)):
            if value <= 0:
                raise ValueError(f"{field} must be positive, got {value}")
        self.alpha = float(alpha)
        self.omega = float(omega)
        self.epsilon = float(epsilon)
        self.theta = float(theta)

    def pixel_loss(self, y_true, y_pred):
        delta = tf.abs(y_true - y_pred)
        power = self.alpha - y_true
        near = self.omega * tf.math.log1p(tf.pow(delta / self.epsilon, power))
        ratio = self.theta / self.epsilon
        ratio_pow = tf.pow(ratio, power)
        slope = (self.omega / (1.0 + ratio_pow) * power * tf.pow(ratio, power - 1.0)
                 / self.epsilon)
        offset = self.theta * slope - self.omega * tf.math.log1p(ratio_pow)
        return tf.where(delta < self.theta, near, slope * delta - offset)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "omega": self.omega,
                "epsilon": self.epsilon, "theta": self.theta}


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class KeypointMSE(HeatmapLoss):
    """Keypoint-weighted mean squared error of heatmaps (SimpleBaseline, HRNet, LitePose).

    ``mean over pixels of (y_pred - y_true) ** 2`` per keypoint, weighted and averaged over
    keypoints and examples (module docstring). No factor 1/2 (see the module docstring).

    Shapes: ``y_true``, ``y_pred`` ``[B, H, W, K]``; ``sample_weight`` ``[B, K]``.
    """

    def __init__(self, name: str = "keypoint_mse", **kwargs):
        super().__init__(name=name, **kwargs)

    def pixel_loss(self, y_true, y_pred):
        return tf.square(y_pred - y_true)


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class SigmoidCrossEntropy(HeatmapLoss):
    """Sigmoid cross-entropy from logits against soft heatmap targets (Bulat & Tzimiropoulos,
    "Binarized Convolutional Landmark Localizers...", ICCV 2017: the binary hourglass).

    Per pixel with target ``y`` in [0, 1] and logit ``z``:
    ``-[y * log(sigmoid(z)) + (1 - y) * log(1 - sigmoid(z))]``, computed stably from logits.
    For a fixed ``y`` it is smallest at ``sigmoid(z) = y`` where it equals the target's binary
    entropy ``H(y)``, so it is not 0 at a perfect prediction.

    Args:
      subtract_target_entropy: report ``loss - H(y)`` instead, i.e. the Bernoulli KL divergence
        ``KL(y || sigmoid(z))``, which is 0 at a perfect prediction and makes logs readable.
        The gradient is the same (``H(y)`` does not depend on the prediction). Default False:
        the value the papers report.
    Shapes: ``y_true`` ``[B, H, W, K]`` targets, ``y_pred`` ``[B, H, W, K]`` logits;
    ``sample_weight`` ``[B, K]``.
    """

    def __init__(self, subtract_target_entropy: bool = False, name: str = "sigmoid_ce",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.subtract_target_entropy = bool(subtract_target_entropy)

    def pixel_loss(self, y_true, y_pred):
        loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred)
        if self.subtract_target_entropy:
            loss -= binary_entropy(y_true)
        return loss

    def get_config(self):
        return {**super().get_config(), "subtract_target_entropy": self.subtract_target_entropy}


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class RegressiveCrossEntropy(SigmoidCrossEntropy):
    """FasterPose's regressive cross-entropy (RCE, arXiv 2107.03215).

    Mathematically identical to :class:`SigmoidCrossEntropy`: FasterPose names the binary
    cross-entropy "regressive" when its targets are continuous Gaussian heatmaps rather than
    0/1 labels, which is what the binary hourglass already did. Only the default name differs.
    """

    def __init__(self, subtract_target_entropy: bool = False, name: str = "rce", **kwargs):
        super().__init__(subtract_target_entropy=subtract_target_entropy, name=name, **kwargs)


def binary_entropy(y):
    """``-[y log y + (1 - y) log(1 - y)]`` elementwise, with ``0 log 0 = 0``."""
    return -(tf.math.xlogy(y, y) + tf.math.xlogy(1.0 - y, 1.0 - y))
