import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tfpose.layers.binary import QuantPolicy, RPReLU, binary_conv_unit
from tfpose.layers.hrnet_blocks import ir_bottleneck, ms_block

BINARY = QuantPolicy(learnable_shift=False)


def sign(x):
    return np.where(np.asarray(x) >= 0, 1.0, -1.0).astype(np.float32)  # ste_sign: 0 -> +1


def block_model(block, policy, channels=32, size=8):
    inputs = tf.keras.Input((size, size, channels))
    return tf.keras.Model(inputs, block(inputs, policy))


def randomise_batch_norms(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.3, beta.shape),
                               rng.normal(0, 0.3, mean.shape), rng.uniform(0.5, 2, var.shape)])


def with_sign_kernels(source, target):
    """Copy ``source``'s weights into ``target``, binarising kernels of binary layers."""
    for src, dst in zip(source.layers, target.layers, strict=True):
        weights = src.get_weights()
        if getattr(src, "kernel_quantizer", None) is not None:
            weights = [sign(weights[0]), *weights[1:]]
        dst.set_weights(weights)


def test_binary_conv_is_a_conv_of_signs_padded_with_plus_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 7, 7, 32)).astype(np.float32)
    conv = BINARY.conv(16, 3)
    y = conv(x).numpy()
    kernel = sign(conv.kernel.numpy())
    padded = np.pad(sign(x), ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=1.0)
    reference = tf.nn.conv2d(padded, kernel, 1, "VALID").numpy()
    np.testing.assert_allclose(y, reference, atol=1e-4)
    assert set(np.unique(y.round(3)) % 2) <= {0.0}  # 288 signed products: even sums only


def test_unit_equals_float_twin_on_plus_minus_one_inputs():
    x = sign(np.random.default_rng(1).normal(size=(2, 8, 8, 32)))
    unit = lambda t, p: binary_conv_unit(t, 32, p, name="u")  # noqa: E731
    binary, twin = block_model(unit, BINARY), block_model(unit, BINARY.float_twin())
    randomise_batch_norms(binary)
    with_sign_kernels(binary, twin)
    np.testing.assert_allclose(binary(x).numpy(), twin(x).numpy(), atol=1e-4)
    # On real-valued inputs the twin no longer binarises and must differ.
    assert not np.allclose(binary(x).numpy(), twin(x * 0.5).numpy(), atol=1e-2)


@pytest.mark.parametrize("block", [
    lambda t, p: ir_bottleneck(t, p, name="ir"),
    lambda t, p: ms_block(t, p, name="ms"),
    lambda t, p: binary_conv_unit(t, 64, p, strides=2, name="down"),
], ids=["ir_bottleneck", "ms_block", "downsampling_unit"])
def test_block_equals_its_twin_with_binarised_kernels(block):
    """Binary kernels are exactly sign(latent weights): the block equals the same block with
    real-valued kernels set to those signs (activations binarised in both)."""
    x = np.random.default_rng(2).normal(size=(2, 8, 8, 32)).astype(np.float32)
    binary = block_model(block, BINARY)
    twin = block_model(block, BINARY.stage_one())
    randomise_batch_norms(binary)
    with_sign_kernels(binary, twin)
    np.testing.assert_allclose(binary(x).numpy(), twin(x).numpy(), rtol=1e-4, atol=1e-4)


def test_straight_through_estimator_is_clipped_at_one():
    x = tf.constant([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = lq.quantizers.SteSign()(x)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0, 1, 1, 1, 1, 1, 0])


def test_gradients_reach_input_and_latent_kernels():
    model = block_model(lambda t, p: ms_block(t, p, name="ms"), QuantPolicy())
    x = tf.random.normal((2, 8, 8, 32), stddev=0.5)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(model(x, training=True) ** 2)
    grads = tape.gradient(loss, [x, *model.trainable_weights])
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)
    kernels = [g for g, w in zip(grads[1:], model.trainable_weights, strict=True)
               if "kernel" in w.name]
    assert kernels and all(np.abs(g.numpy()).sum() > 0 for g in kernels)


def test_rprelu():
    layer = RPReLU()
    layer.build((None, 2))
    layer.set_weights([np.array([1.0, 0.0]), np.array([0.1, 0.5]), np.array([0.0, 2.0])])
    y = layer(tf.constant([[3.0, -2.0], [0.0, 4.0]])).numpy()
    np.testing.assert_allclose(y, [[2.0, -1.0 + 2.0], [-0.1, 6.0]])
    assert RPReLU.from_config(layer.get_config()).initial_slope == 0.25


def test_rprelu_converts_to_one_prelu_op_with_the_same_values():
    """Written as Keras' PReLU is, RPReLU becomes TFLite's PRELU (XNNPACK runs it), not the
    GREATER_EQUAL + SELECT that ``tf.where`` converts to; values as ``where(x >= 0, x, a x)``,
    zero included."""
    from tfpose.export.lce import convert_to_lce
    from tfpose.runtime.flatbuffer import op_histogram
    from tfpose.runtime.interpreter import LCEInterpreterRunner

    inputs = tf.keras.Input((4, 4, 8))
    layer = RPReLU()
    model = tf.keras.Model(inputs, layer(inputs))
    rng = np.random.default_rng(0)
    gamma, slope, zeta = rng.normal(0, 0.5, 8), rng.uniform(0, 0.5, 8), rng.normal(0, 0.5, 8)
    layer.set_weights([gamma, slope, zeta])
    x = rng.normal(0, 1, (2, 4, 4, 8)).astype(np.float32)
    x[0, 0, 0] = gamma  # x - gamma exactly 0
    shifted = x - gamma.astype(np.float32)
    expected = np.where(shifted >= 0, shifted, slope * shifted) + zeta
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-6, atol=1e-6)
    flatbuffer = convert_to_lce(model)
    assert op_histogram(flatbuffer) == {"SUB": 1, "PRELU": 1, "ADD": 1}
    np.testing.assert_allclose(LCEInterpreterRunner(flatbuffer)(x), expected, atol=1e-5)


def test_policy_variants():
    policy = QuantPolicy()
    assert policy.is_binary
    assert policy.stage_one().kernel_quantizer is None
    assert policy.stage_one().input_quantizer == "ste_sign"
    assert not policy.float_twin().is_binary
