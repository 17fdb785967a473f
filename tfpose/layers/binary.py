"""Binary (1-bit) building blocks shared by every binary model, built on Larq.

One :class:`QuantPolicy` per model says how binary convolutions quantise; every binary layer is
made by :meth:`QuantPolicy.conv`, so a model never mixes settings by accident. The defaults are
what Larq Compute Engine turns into its optimised ``LceBconv2d`` op: ``ste_sign`` inputs,
``ste_sign`` kernels with a weight clip, ``padding="same"`` with ``pad_values=1.0`` (padding
with +1 keeps the padded input binary) and no bias (a following BatchNorm provides it).

Binary weights come plain or scaled (:data:`KERNEL_SIGNS`, :meth:`QuantPolicy.with_weights`):
plain ``ste_sign`` kernels are +-1; scaled ones are +-alpha per output channel with alpha the
mean absolute latent weight of the channel, XNOR-Net's filter scale (larq's
``MagnitudeAwareSign``, which, as Bi-Real Net, passes no gradient through alpha). LCE turns both
into ``LceBconv2d``: it divides the constant kernel by its per-channel scale (1 for plain
weights) and multiplies the scale into the op's per-channel output multiplier, where a
following BatchNorm is folded too, so alpha costs nothing at inference. Scaled weights matter
where no BatchNorm follows the conv (pre-activation blocks whose conv output joins a residual
sum, the binary hourglass); BiHRNet's units, with a BatchNorm after every conv, keep plain ones.

The binary conv unit follows the recipes that train well (Bi-Real Net, ReActNet): a real-valued
shortcut around every binary conv, BatchNorm right after it (LCE folds it into the op), an
optional learnable per-channel shift before the sign and RPReLU after the sum. Down-sampling
shortcuts stay real-valued (average pooling + 1x1 float conv + BatchNorm, as Bi-Real does).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import larq as lq
import tensorflow as tf

from tfpose.layers.common import PACKAGE

# A larq layer with one of these set quantizes its weights (binary_layers).
WEIGHT_QUANTIZERS = ("kernel_quantizer", "depthwise_quantizer", "pointwise_quantizer")
# Binary kernel quantizers by the weights they give: "plain" +-1, "scaled" +-alpha per output
# channel (alpha = mean |latent weight| of the channel: XNOR-Net; larq's MagnitudeAwareSign).
KERNEL_SIGNS = {"plain": "ste_sign", "scaled": "magnitude_aware_sign"}


@dataclass(frozen=True)
class QuantPolicy:
    """How binary convolutions of one model quantise.

    ``QuantPolicy()`` is fully binary. ``stage_one()`` keeps binary activations with real-valued
    weights (the first of the two training stages), ``float_twin()`` disables quantisation (the
    same architecture in full precision, for reference checks).
    """

    input_quantizer: str | None = "ste_sign"
    kernel_quantizer: str | None = "ste_sign"
    kernel_constraint: str | None = "weight_clip"
    learnable_shift: bool = True  # ReActNet's per-channel shift before the sign
    activation: str = "rprelu"  # after the shortcut sum: "rprelu" or "none"

    def stage_one(self) -> QuantPolicy:
        return replace(self, kernel_quantizer=None, kernel_constraint=None)

    def float_twin(self) -> QuantPolicy:
        return replace(self, input_quantizer=None, kernel_quantizer=None, kernel_constraint=None)

    def with_weights(self, weights: str) -> QuantPolicy:
        """This policy with ``"plain"`` (+-1) or ``"scaled"`` (+-alpha per output channel)
        binary weights (:data:`KERNEL_SIGNS`); a ValueError names the choices."""
        if weights not in KERNEL_SIGNS:
            raise ValueError(f"weights must be one of {sorted(KERNEL_SIGNS)}, got {weights!r}")
        return replace(self, kernel_quantizer=KERNEL_SIGNS[weights])

    @property
    def is_binary(self) -> bool:
        return self.input_quantizer is not None and self.kernel_quantizer is not None

    def conv(self, filters: int, kernel_size=3, strides=1, dilation_rate=1, name=None):
        """A binary ``QuantConv2D`` in the layout LCE optimises."""
        return lq.layers.QuantConv2D(
            filters, kernel_size, strides=strides, dilation_rate=dilation_rate, padding="same",
            pad_values=1.0, input_quantizer=self.input_quantizer,
            kernel_quantizer=self.kernel_quantizer, kernel_constraint=self.kernel_constraint,
            use_bias=False, kernel_initializer="glorot_normal", name=name,
        )


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class LearnableBias(tf.keras.layers.Layer):
    """Adds a learned per-channel shift (ReActNet's RSign threshold, moved before the sign)."""

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(input_shape[-1],), initializer="zeros")
        super().build(input_shape)

    def call(self, inputs):
        return inputs + self.bias


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class RPReLU(tf.keras.layers.Layer):
    """ReActNet's RPReLU: ``PReLU(x - gamma) + zeta`` with per-channel gamma, slope and zeta."""

    def __init__(self, initial_slope: float = 0.25, **kwargs):
        super().__init__(**kwargs)
        self.initial_slope = initial_slope

    def build(self, input_shape):
        channels = (input_shape[-1],)
        self.shift_in = self.add_weight(name="shift_in", shape=channels, initializer="zeros")
        self.slope = self.add_weight(
            name="slope", shape=channels,
            initializer=tf.keras.initializers.Constant(self.initial_slope))
        self.shift_out = self.add_weight(name="shift_out", shape=channels, initializer="zeros")
        super().build(input_shape)

    def call(self, inputs):
        # relu(x) + -slope * relu(-x) is PReLU written the way Keras' PReLU writes it, which the
        # TFLite converter fuses into one PRELU op (XNNPACK runs it). tf.where(x >= 0, ...)
        # computes the same values but converts to GREATER_EQUAL + MUL + SELECT, which XNNPACK
        # does not take: they were 44% of BiHRNet-W32's host time (benchmarks/README.md).
        # The fusion wants the slope with the input's rank less the batch axis ([1, 1, C]).
        x = inputs - self.shift_in
        slope = tf.reshape(self.slope, [1] * (inputs.shape.rank - 2) + [-1])
        return tf.nn.relu(x) + -slope * tf.nn.relu(-x) + self.shift_out

    def get_config(self):
        return {**super().get_config(), "initial_slope": self.initial_slope}


def batch_norm(name=None):
    return tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def float_shortcut(x, filters: int, strides: int = 1, name: str = "shortcut"):
    """Real-valued shortcut: identity, or average pooling and/or 1x1 float conv + BatchNorm."""
    if strides > 1:
        x = tf.keras.layers.AveragePooling2D(strides, strides, padding="same",
                                             name=f"{name}_pool")(x)
    if x.shape[-1] != filters:
        x = tf.keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_conv")(x)
        x = batch_norm(f"{name}_bn")(x)
    return x


def binary_conv_unit(x, filters: int, policy: QuantPolicy, *, kernel_size=3, strides=1,
                     dilation_rate=1, shortcut=True, name: str):
    """``act(BN(bconv(shift(x))) + shortcut(x))``: one binary conv with a real-valued path.

    The shift and activation follow ``policy``; ``shortcut=False`` returns ``BN(bconv(x))``
    (for blocks that combine several binary paths themselves).
    """
    y = LearnableBias(name=f"{name}_shift")(x) if policy.learnable_shift else x
    y = policy.conv(filters, kernel_size, strides, dilation_rate, name=f"{name}_bconv")(y)
    y = batch_norm(f"{name}_bn")(y)
    if not shortcut:
        return y
    shortcut_path = float_shortcut(x, filters, strides, name=f"{name}_shortcut")
    y = tf.keras.layers.Add(name=f"{name}_add")([y, shortcut_path])
    return activation(y, policy, name)


def activation(x, policy: QuantPolicy, name: str):
    if policy.activation == "rprelu":
        return RPReLU(name=f"{name}_rprelu")(x)
    if policy.activation == "none":
        return x
    raise ValueError(f"unknown binary-unit activation {policy.activation!r}")


def is_binary_meant(layer) -> bool:
    """A larq layer with a weight quantizer: its author meant it to run binary."""
    return isinstance(layer, lq.layers_base.BaseLayer) and any(
        getattr(layer, attr, None) is not None for attr in WEIGHT_QUANTIZERS
    )


def binary_layers(model) -> list[tuple[str, tf.keras.layers.Layer]]:
    """(path, layer) of binary-meant layers, recursing into nested models."""
    found = []
    for layer in model.layers:
        if isinstance(layer, tf.keras.Model):
            found += [(f"{layer.name}/{path}", sub) for path, sub in binary_layers(layer)]
        elif is_binary_meant(layer):
            found.append((layer.name, layer))
    return found
