import numpy as np
import pytest
import tensorflow as tf

from tfpose.layers import mobile_blocks as mb

layers = tf.keras.layers


def _model(build, *shapes):
    inputs = [tf.keras.Input(shape) for shape in shapes]
    return tf.keras.Model(inputs, build(*inputs))


def _layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


@pytest.mark.parametrize("value, expected", [(96, 96), (16 * 6, 96), (20 * 6, 120), (60, 64),
                                             (3, 8), (100, 104), (44, 48), (36, 40),
                                             (11, 16)])  # 8 would be > 10% below 11
def test_make_divisible_rounds_to_nearest_multiple_never_10_percent_below(value, expected):
    assert mb.make_divisible(value) == expected
    assert mb.make_divisible(value) % 8 == 0 and mb.make_divisible(value) >= 0.9 * value


def test_stem_halves_resolution_and_ends_linear():
    model = _model(lambda x: mb.stem(x, 24), (64, 48, 3))
    assert model.output_shape == (None, 32, 24, 24)
    assert model.get_layer("stem_conv").kernel.shape == (3, 3, 3, mb.STEM_CONV_FILTERS)
    assert model.get_layer("stem_conv").strides == (2, 2)
    assert model.get_layer("stem_dw").kernel_size == (3, 3)
    assert _layer_types(model)[-1] == "BatchNormalization"  # no activation after the 1x1
    assert [layer.max_value for layer in model.layers if isinstance(layer, layers.ReLU)] == [6, 6]


@pytest.mark.parametrize("channels, filters, strides, residual",
                         [(16, 16, 1, True), (16, 24, 1, False), (16, 16, 2, False)])
def test_inverted_bottleneck_shapes_and_residual_rule(channels, filters, strides, residual):
    model = _model(lambda x: mb.inverted_bottleneck(x, filters, strides=strides, kernel_size=5,
                                                    name="b"), (16, 16, channels))
    assert model.output_shape == (None, 16 // strides, 16 // strides, filters)
    assert ("Add" in _layer_types(model)) == residual
    assert model.get_layer("b_expand_conv").filters == channels * 6
    dw = model.get_layer("b_dw")
    assert dw.kernel_size == (5, 5) and dw.strides == (strides, strides)


def test_expand_width_is_rounded_to_a_multiple_of_8():
    model = _model(lambda x: mb.inverted_bottleneck(x, 12, expansion=6, name="b"), (8, 8, 10))
    assert model.get_layer("b_expand_conv").filters == 64  # 60 -> 64


def test_inverted_bottleneck_residual_is_the_identity_when_the_branch_is_zero():
    model = _model(lambda x: mb.inverted_bottleneck(x, 8, name="b"), (8, 8, 8))
    bn = model.get_layer("b_project_bn")
    bn.set_weights([np.zeros_like(w) for w in bn.get_weights()[:2]] + bn.get_weights()[2:])
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(model(x, training=False), x, atol=1e-6)


def _head_inputs(size=4):
    """Backbone-like features: refined and raw at 1/16 (size), then 2x, 4x, 8x."""
    return [(size, size, 40), (size, size, 24), (2 * size, 2 * size, 16),
            (4 * size, 4 * size, 16), (8 * size, 8 * size, 12)]


def test_fusion_head_shapes_and_structure():
    model = _model(lambda r, a, b, c, d: mb.fusion_deconv_head(r, [a, b, c, d], (16, 24, 32),
                                                               (34, 17)), *_head_inputs())
    assert model.output_shape == [(None, 16, 16, 34), (None, 32, 32, 17)]
    assert model.output_names == ["head_pred1_out", "head_pred2_out"]
    deconvs = [layer for layer in model.layers if isinstance(layer, layers.Conv2DTranspose)]
    assert len(deconvs) == 6
    assert {(d.kernel_size, d.strides, d.use_bias) for d in deconvs} == {((4, 4), (2, 2), False)}
    # every step sums a refined and a raw transposed conv of the same width
    for step, filters in enumerate((16, 24, 32), start=1):
        assert model.get_layer(f"head_up{step}_refined").filters == filters
        assert model.get_layer(f"head_up{step}_raw").filters == filters
    # predictions: depthwise 5x5 -> BN -> ReLU -> 1x1 on both paths
    for pred, filters in ((1, 34), (2, 17)):
        for path in ("refined", "raw"):
            assert model.get_layer(f"head_pred{pred}_{path}_dw").kernel_size == (5, 5)
            assert model.get_layer(f"head_pred{pred}_{path}_conv").filters == filters
    assert all(out.dtype == tf.float32 for out in model.outputs)


def test_fusion_head_predictions_read_the_raw_skips():
    """Changing the raw skip at the output resolution changes that output (and only it)."""
    model = _model(lambda r, a, b, c, d: mb.fusion_deconv_head(r, [a, b, c, d], (8, 8, 8),
                                                               (4, 2)), *_head_inputs(2))
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(1, *shape)).astype(np.float32) for shape in _head_inputs(2)]
    before = model(inputs, training=False)
    inputs[4] = inputs[4] + 1.0  # the 1/2-resolution skip only feeds the last prediction
    after = model(inputs, training=False)
    np.testing.assert_array_equal(before[0], after[0])
    assert not np.allclose(before[1], after[1])


def test_plain_head_uses_the_backbone_output_only():
    model = _model(lambda r: mb.plain_deconv_head(r, (16, 24, 32), (34, 17)), (4, 4, 40))
    assert model.output_shape == [(None, 16, 16, 34), (None, 32, 32, 17)]
    assert sum(isinstance(layer, layers.Conv2DTranspose) for layer in model.layers) == 3
    assert not [layer.name for layer in model.layers if "_raw" in layer.name]


def test_head_arguments_are_checked():
    x = tf.keras.Input((4, 4, 8))
    with pytest.raises(ValueError, match="3 up-sampling steps and 2 predictions"):
        mb.plain_deconv_head(x, (16, 24), (34, 17))
    with pytest.raises(ValueError, match="needs 4 raw backbone features"):
        mb.fusion_deconv_head(x, [x, x], (16, 24, 32), (34, 17))
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        mb.conv_bn(x, 8, activation="gelu", name="c")


def test_transposed_conv_places_its_kernel_as_pytorch_padding_1():
    """PyTorch ``ConvTranspose2d(k=4, s=2, p=1)``: out[o] = sum_i x[i] w[o + 1 - 2 i], so an
    input impulse at i = 1 writes the kernel's taps 0..3 to outputs 1..4 (row and column)."""
    inputs = tf.keras.Input((3, 3, 1))
    model = tf.keras.Model(inputs, mb.transposed_conv(inputs, 1, name="up"))
    taps = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    model.get_layer("up").set_weights([np.outer(taps, 10 * taps)[..., None, None]])
    impulse = np.zeros((1, 3, 3, 1), np.float32)
    impulse[0, 1, 1, 0] = 1.0
    out = model(impulse).numpy()[0, ..., 0]
    expected = np.zeros((6, 6), np.float32)
    expected[1:5, 1:5] = np.outer(taps, 10 * taps)
    np.testing.assert_array_equal(out, expected)


def test_stride_two_depthwise_pads_like_pytorch():
    """A 7x7 stride-2 depthwise conv pads 3 on every side (PyTorch ``padding=k // 2``)."""
    model = _model(lambda x: mb.inverted_bottleneck(x, 8, strides=2, name="b"), (8, 8, 8))
    assert model.get_layer("b_dw_pad").padding == ((3, 3), (3, 3))
    assert model.get_layer("b_dw").padding == "valid"
    assert model.output_shape == (None, 4, 4, 8)
