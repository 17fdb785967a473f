"""Plain and scaled binary weights (QuantPolicy.with_weights): what the conv computes, and that
the default policy (BiHRNet's) is unchanged."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tfpose.layers.binary import KERNEL_SIGNS, QuantPolicy


def sign(x):
    return np.where(np.asarray(x) >= 0, 1.0, -1.0)  # ste_sign: 0 -> +1


def conv_1x1(policy, x, kernel):
    conv = policy.conv(kernel.shape[-1], 1)
    conv.build(x.shape)
    conv.set_weights([kernel])
    return conv, conv(x).numpy()


def test_default_policy_is_unchanged_plain_ste_sign():
    policy = QuantPolicy()
    assert policy.kernel_quantizer == "ste_sign" == KERNEL_SIGNS["plain"]
    assert policy.with_weights("plain") == policy
    assert isinstance(policy.conv(8).kernel_quantizer, lq.quantizers.SteSign)


def test_scaled_weights_are_sign_times_mean_magnitude_per_output_channel():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 3, 32)).astype("float32")
    kernel = rng.normal(size=(1, 1, 32, 8)).astype("float32")
    conv, got = conv_1x1(QuantPolicy().with_weights("scaled"), x, kernel)
    assert isinstance(conv.kernel_quantizer, lq.quantizers.MagnitudeAwareSign)
    alpha = np.abs(kernel).mean(axis=(0, 1, 2))  # XNOR-Net's filter scale
    expected = (sign(x) @ sign(kernel[0, 0])) * alpha
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    _, plain = conv_1x1(QuantPolicy().with_weights("plain"), x, kernel)
    np.testing.assert_array_equal(plain, sign(x) @ sign(kernel[0, 0]))


def test_scaled_weights_pass_no_gradient_through_alpha():
    """larq's MagnitudeAwareSign: alpha under stop_gradient, the sign's straight-through
    estimator (zero beyond |w| > 1) times alpha."""
    rng = np.random.default_rng(1)
    kernel = tf.Variable(rng.uniform(-1.5, 1.5, size=(1, 1, 4, 3)).astype("float32"))
    quantizer = lq.quantizers.get(KERNEL_SIGNS["scaled"])
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(quantizer(kernel) * tf.constant([1.0, 2.0, 3.0]))
    grad = tape.gradient(total, kernel).numpy()
    alpha = np.abs(kernel.numpy()).mean(axis=(0, 1, 2))
    expected = (np.abs(kernel.numpy()) <= 1) * alpha * np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(grad, expected, rtol=1e-6)


def test_stage_one_and_float_twin_drop_any_kernel_quantizer():
    scaled = QuantPolicy().with_weights("scaled")
    assert scaled.stage_one().kernel_quantizer is None
    assert scaled.float_twin().kernel_quantizer is None
    assert scaled.is_binary and not scaled.stage_one().is_binary


def test_unknown_weights_are_refused():
    with pytest.raises(ValueError, match="plain.*scaled"):
        QuantPolicy().with_weights("ternary")
