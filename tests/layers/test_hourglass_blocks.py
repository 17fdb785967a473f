"""HPM and binary bottleneck blocks: reference equivalence, STE gradients, channel structure."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tfpose.layers.binary import QuantPolicy
from tfpose.layers.hourglass_blocks import binary_bottleneck_block, hpm_block

BLOCKS = {"hpm": hpm_block, "bottleneck": binary_bottleneck_block}
# (name suffix, kernel size, output channels as a fraction of C) of each block's three convs
CONVS = {
    "hpm": [("conv1", 3, 1 / 2), ("conv2", 3, 1 / 4), ("conv3", 3, 1 / 4)],
    "bottleneck": [("conv1", 1, 1 / 2), ("conv2", 3, 1 / 2), ("conv3", 1, 1)],
}


def sign(x):
    """ste_sign's forward pass: 0 maps to +1."""
    return np.where(np.asarray(x) >= 0, 1.0, -1.0)


def conv_same(x, kernel, pad_value):
    """Stride-1 "same" convolution of NHWC ``x`` with an HWIO kernel, padded with ``pad_value``."""
    k = kernel.shape[0]
    height, width = x.shape[1:3]
    padded = np.pad(x, [(0, 0), (k // 2, k // 2), (k // 2, k // 2), (0, 0)],
                    constant_values=pad_value)
    out = np.zeros((*x.shape[:3], kernel.shape[-1]))
    for dy in range(k):
        for dx in range(k):
            out += padded[:, dy:dy + height, dx:dx + width, :] @ kernel[dy, dx]
    return out


def block_model(kind, in_channels, channels, policy, size=6, relu=False):
    inputs = tf.keras.Input((size, size, in_channels))
    return tf.keras.Model(inputs, BLOCKS[kind](inputs, channels, policy, relu=relu, name="blk"))


def randomise(model, rng, kind):
    """Random kernels and BatchNorm / shift weights whose sign thresholds sit at half-integers.

    Block inputs and binary conv outputs are integers, so a threshold at k + 0.5 keeps every
    pre-sign value at least 0.5 / std away from 0: TF and numpy then agree on every sign.
    """
    for layer in model.layers:
        weights = layer.get_weights()
        if isinstance(layer, lq.layers.QuantConv2D | tf.keras.layers.Conv2D):
            layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in weights])
    for conv, _, _ in CONVS[kind]:
        bn = model.get_layer(f"blk_{conv}_bn")
        n = bn.gamma.shape[0]
        gamma = rng.uniform(0.5, 2.0, n) * rng.choice([-1, 1], n)
        beta, var = rng.normal(size=n), rng.uniform(0.5, 4.0, n)
        shift = rng.normal(size=n) if _has_layer(model, f"blk_{conv}_shift") else np.zeros(n)
        threshold = rng.integers(-4, 4, n) + 0.5
        mean = threshold + (beta + shift) * np.sqrt(var + bn.epsilon) / gamma
        bn.set_weights([gamma, beta, mean, var])
        if _has_layer(model, f"blk_{conv}_shift"):
            model.get_layer(f"blk_{conv}_shift").set_weights([shift])
    if _has_layer(model, "blk_shortcut_bn"):
        bn = model.get_layer("blk_shortcut_bn")
        n = bn.gamma.shape[0]
        bn.set_weights([rng.normal(size=n), rng.normal(size=n), rng.normal(size=n),
                        rng.uniform(0.5, 2.0, n)])


def _has_layer(model, name):
    return any(layer.name == name for layer in model.layers)


def reference_block(model, x, kind, binarise, relu=False, scaled=False):
    """The block recomputed in numpy from ``model``'s weights: explicit signs, +1 padding;
    ``relu``: a ReLU after each conv; ``scaled``: binary kernels times the mean magnitude of
    each output channel's weights (XNOR-Net)."""

    def bn(name, y):
        gamma, beta, mean, var = model.get_layer(name).get_weights()
        return gamma * (y - mean) / np.sqrt(var + model.get_layer(name).epsilon) + beta

    branches, y = [], x.astype("float64")
    for conv, _, _ in CONVS[kind]:
        y = bn(f"blk_{conv}_bn", y)
        if _has_layer(model, f"blk_{conv}_shift"):
            y = y + model.get_layer(f"blk_{conv}_shift").get_weights()[0]
        kernel = model.get_layer(f"blk_{conv}_bconv").get_weights()[0]
        if binarise:
            alpha = np.abs(kernel).mean(axis=(0, 1, 2)) if scaled else 1.0
            y, kernel = sign(y), sign(kernel) * alpha
        y = conv_same(y, kernel, pad_value=1.0)
        if relu:
            y = np.maximum(y, 0.0)
        branches.append(y)
    y = np.concatenate(branches, axis=-1) if kind == "hpm" else y
    shortcut = x
    if _has_layer(model, "blk_shortcut_conv"):
        kernel = model.get_layer("blk_shortcut_conv").get_weights()[0]
        shortcut = bn("blk_shortcut_bn", x @ kernel[0, 0])
    return shortcut + y


@pytest.mark.parametrize("kernel_size", [1, 3])
def test_quant_conv_is_conv_of_signs_padded_with_plus_one(kernel_size):
    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, size=(2, 5, 5, 32)).astype("float32")  # includes exact zeros
    conv = QuantPolicy().conv(8, kernel_size)
    conv.build(x.shape)
    kernel = rng.normal(size=conv.kernel.shape).astype("float32")
    kernel[0, 0, :4, 0] = 0.0  # ste_sign maps a zero weight to +1 too
    conv.set_weights([kernel])
    got = conv(x).numpy()
    np.testing.assert_array_equal(got, conv_same(sign(x), sign(kernel), pad_value=1.0))
    if kernel_size > 1:  # the check can fail: zero padding gives different borders
        assert not np.allclose(got, conv_same(sign(x), sign(kernel), pad_value=0.0))


def test_float_twin_conv_equals_binary_conv_on_signs():
    rng = np.random.default_rng(1)
    policy = QuantPolicy(learnable_shift=False)
    binary, twin = policy.conv(16, 3), policy.float_twin().conv(16, 3)
    x = sign(rng.normal(size=(1, 6, 6, 32))).astype("float32")
    binary.build(x.shape)
    twin.build(x.shape)
    kernel = rng.uniform(-1, 1, size=binary.kernel.shape).astype("float32")
    binary.set_weights([kernel])
    twin.set_weights([sign(kernel)])
    np.testing.assert_array_equal(binary(x).numpy(), twin(x).numpy())
    twin.set_weights([kernel])  # and the twin really is real-valued
    assert not np.allclose(binary(x).numpy(), twin(x).numpy())


@pytest.mark.parametrize("kind", ["hpm", "bottleneck"])
@pytest.mark.parametrize("in_channels", [16, 32])  # 16: float 1x1 shortcut; 32: identity
@pytest.mark.parametrize("learnable_shift", [False, True])
@pytest.mark.parametrize(("weights", "relu"), [("plain", False), ("plain", True),
                                               ("scaled", False), ("scaled", True)])
def test_block_matches_numpy_reference(kind, in_channels, learnable_shift, weights, relu):
    rng = np.random.default_rng(in_channels + learnable_shift)
    policy = QuantPolicy(learnable_shift=learnable_shift).with_weights(weights)
    binary = block_model(kind, in_channels, 32, policy, relu=relu)
    randomise(binary, rng, kind)
    twin = block_model(kind, in_channels, 32, policy.float_twin(), relu=relu)
    twin.set_weights(binary.get_weights())  # same layers, same weights: only quantisation differs
    x = rng.integers(-4, 5, size=(2, 6, 6, in_channels)).astype("float32")

    got = binary(x, training=False).numpy()
    expected = reference_block(binary, x, kind, binarise=True, relu=relu,
                               scaled=weights == "scaled")
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    # plain binary conv outputs are integers; with the identity shortcut so is the whole block
    if in_channels == 32 and weights == "plain":
        np.testing.assert_array_equal(got, expected)

    got_twin = twin(x, training=False).numpy()
    expected_twin = reference_block(binary, x, kind, binarise=False,
                                    relu=relu)  # values reach 1e3: float32
    np.testing.assert_allclose(got_twin, expected_twin, atol=1e-5 * np.abs(expected_twin).max())
    assert not np.allclose(got, got_twin, atol=1e-2)


@pytest.mark.parametrize("kind", ["hpm", "bottleneck"])
def test_relu_sits_right_after_every_binary_conv(kind):
    """relu=True: ``BN -> sign -> conv -> ReLU``; the ReLU output is what the concatenation
    (HPM) or the next conv's BatchNorm reads; the residual sum stays linear."""
    model = block_model(kind, 64, 64, QuantPolicy(), relu=True)
    relus = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.ReLU)]
    assert [layer.name for layer in relus] == [f"blk_{conv}_relu" for conv, _, _ in CONVS[kind]]
    for conv, _, _ in CONVS[kind]:
        assert model.get_layer(f"blk_{conv}_relu").input is \
            model.get_layer(f"blk_{conv}_bconv").output
    for k in (2, 3):
        assert model.get_layer(f"blk_conv{k}_bn").input is \
            model.get_layer(f"blk_conv{k - 1}_relu").output
    if kind == "hpm":
        assert model.get_layer("blk_concat").input == [
            model.get_layer(f"blk_conv{k}_relu").output for k in (1, 2, 3)]
    add = model.get_layer("blk_add")
    assert add.input[0] is model.input  # identity shortcut, no activation after the sum
    assert model.output is add.output
    plain = block_model(kind, 64, 64, QuantPolicy())
    assert not any(isinstance(layer, tf.keras.layers.ReLU) for layer in plain.layers)
    assert [w.shape for w in plain.weights] == [w.shape for w in model.weights]  # no weights


def test_ste_zeroes_gradients_beyond_clip():
    rng = np.random.default_rng(2)
    conv = QuantPolicy().conv(8, 1)
    x = tf.constant(rng.uniform(-2, 2, size=(1, 4, 4, 32)).astype("float32"))
    conv.build(x.shape)
    kernel = rng.uniform(-1.5, 1.5, size=conv.kernel.shape).astype("float32")  # some |w| > 1
    conv.set_weights([kernel])
    upstream = rng.normal(size=(1, 4, 4, 8)).astype("float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = conv(x)
        loss = tf.reduce_sum(y * upstream)
    dx, dw = tape.gradient(loss, [x, conv.kernel])

    w = sign(kernel[0, 0])
    in_range = np.abs(x.numpy()) <= 1
    np.testing.assert_allclose(dx.numpy(), in_range * (upstream @ w.T), rtol=1e-5, atol=1e-5)
    assert (dx.numpy()[~in_range] == 0).all() and (dx.numpy()[in_range] != 0).any()
    w_in_range = np.abs(kernel) <= 1
    expected_dw = np.einsum("bhwi,bhwo->io", sign(x.numpy()), upstream)[None, None] * w_in_range
    np.testing.assert_allclose(dw.numpy(), expected_dw, rtol=1e-5, atol=1e-4)
    assert (dw.numpy()[~w_in_range] == 0).all()


@pytest.mark.parametrize("kind", ["hpm", "bottleneck"])
def test_gradients_flow_through_block(kind):
    model = block_model(kind, 16, 32, QuantPolicy())
    x = tf.constant(np.random.default_rng(3).normal(size=(2, 6, 6, 16)).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.square(model(x, training=True)))
    grads = tape.gradient(loss, [x, *model.trainable_variables])
    names = ["input", *(v.name for v in model.trainable_variables)]
    for name, grad in zip(names, grads, strict=True):
        assert grad is not None, name
        assert np.isfinite(grad.numpy()).all(), name
    assert np.abs(grads[0].numpy()).max() > 0
    for var, grad in zip(model.trainable_variables, grads[1:], strict=True):
        if "bconv" in var.name:
            assert np.abs(grad.numpy()).max() > 0, var.name


def _layer_summary(model):
    return [(layer.name, layer.kernel_size[0], layer.output_shape[-1])
            for layer in model.layers if isinstance(layer, lq.layers.QuantConv2D)]


@pytest.mark.parametrize("kind", ["hpm", "bottleneck"])
def test_channel_structure(kind):
    channels = 128
    model = block_model(kind, 64, channels, QuantPolicy(), size=4)
    assert _layer_summary(model) == [(f"blk_{conv}_bconv", size, int(channels * fraction))
                                     for conv, size, fraction in CONVS[kind]]
    assert model.output_shape == (None, 4, 4, channels)
    if kind == "hpm":
        concat = model.get_layer("blk_concat")
        assert [t.shape[-1] for t in concat.input] == [64, 32, 32]
        # the chain: conv k + 1 reads conv k's output through its BatchNorm
        for k in (2, 3):
            bn_input = model.get_layer(f"blk_conv{k}_bn").input
            assert bn_input is model.get_layer(f"blk_conv{k - 1}_bconv").output
    else:
        assert not _has_layer(model, "blk_concat")
    for layer in model.layers:
        if isinstance(layer, lq.layers.QuantConv2D):  # the layout LCE turns into LceBconv2d
            assert layer.pad_values == 1.0 and layer.padding == "same" and not layer.use_bias
            assert layer.input_quantizer is not None and layer.kernel_quantizer is not None


def test_identity_shortcut_when_channels_match():
    model = block_model("hpm", 32, 32, QuantPolicy())
    assert not _has_layer(model, "blk_shortcut_conv")
    assert model.get_layer("blk_add").input[0] is model.input
    changed = block_model("hpm", 16, 32, QuantPolicy())
    assert isinstance(changed.get_layer("blk_shortcut_conv"), tf.keras.layers.Conv2D)
    assert not isinstance(changed.get_layer("blk_shortcut_conv"), lq.layers.QuantConv2D)


@pytest.mark.parametrize(("kind", "channels"), [("hpm", 30), ("bottleneck", 33)])
def test_rejects_channels_that_do_not_split(kind, channels):
    with pytest.raises(ValueError, match="channels|channel count"):
        block_model(kind, 16, channels, QuantPolicy())
