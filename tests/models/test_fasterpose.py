import math

import numpy as np
import pytest
import tensorflow as tf

from tests.models.test_simple_baseline import SMALL, convert_int8, run_tflite
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.evaluation.codec_check import codec_check
from tfpose.layers.common import DepthToSpace
from tfpose.models.fasterpose import FasterPoseConfig, fasterpose, initial_head_bias
from tfpose.models.simple_baseline import simple_baseline
from tfpose.models.summary import convention_macs, layer_macs, model_summary


@pytest.fixture(scope="module")
def full_size():
    return fasterpose(input_size=(256, 192))


def test_snapshot(full_size):
    """Exact counts, so a structural change shows up in review."""
    summary = model_summary(full_size)
    assert (summary["params"], summary["macs"]) == (24_693_072, 4_060_545_024)
    # No transposed conv, so the papers' convention counts the same.
    assert convention_macs(full_size, "hrnet") == summary["macs"]
    assert full_size.output_shape == (None, 32, 24, 17)


def test_cost_versus_simple_baseline_in_both_counts(full_size):
    """Both figures of the module docstring, computed from the two models at 256x192: in the
    papers' convention (HRNet / SimpleBaseline's counter: a stride-2 transposed conv counted at
    its output positions, 4x its real MACs) the saving is the paper's -58%; in real MACs it is a
    quarter, because most of what that convention removes is the over-counted deconvolutions."""
    import tfpose.models.fasterpose as module

    baseline = simple_baseline(input_size=(256, 192))
    counted = convention_macs(full_size, "hrnet") / convention_macs(baseline, "hrnet")
    real = model_summary(full_size)["macs"] / model_summary(baseline)["macs"]
    doc = " ".join(module.__doc__.split())
    assert (f"{convention_macs(full_size, 'hrnet') / 1e9:.3f}e9 paper-convention MACs, "
            f"{counted:.3f}x SimpleBaseline-R50 ({counted - 1:.1%}") in doc
    assert f"{real:.3f}x ({real - 1:.0%})" in doc
    assert counted - 1 == pytest.approx(-0.58, abs=0.005)  # the paper's -58%
    assert real - 1 == pytest.approx(-0.25, abs=0.01)
    # The whole difference between the counts is SimpleBaseline's three deconvolutions.
    deconvs = [layer for layer in baseline.layers
               if isinstance(layer, tf.keras.layers.Conv2DTranspose)]
    assert len(deconvs) == 3
    over_counted = convention_macs(baseline, "hrnet") - model_summary(baseline)["macs"]
    assert over_counted == sum(3 * layer_macs(layer) for layer in deconvs)


def test_initial_bias_follows_the_loss():
    """RCE trains sigmoid outputs: the bias starts at logit(0.01) = -4.6, the prior. MSE reads
    the same outputs linearly: there -4.6 would start every pixel far below targets in [0, 1],
    so it starts at 0 (SimpleBaseline's and HRNet's final conv)."""
    rce = fasterpose(input_size=SMALL)
    mse = fasterpose(input_size=SMALL, output="gaussian")
    np.testing.assert_allclose(rce.get_layer("head").bias.numpy(), math.log(0.01 / 0.99),
                               rtol=1e-6)
    assert math.log(0.01 / 0.99) == pytest.approx(-4.595, abs=1e-3)
    np.testing.assert_array_equal(mse.get_layer("head").bias.numpy(), 0.0)
    assert initial_head_bias(FasterPoseConfig(output="gaussian", head_prior=0.2)) == 0.0
    assert [w.shape for w in rce.weights] == [w.shape for w in mse.weights]
    x = np.zeros((1, *SMALL, 3), np.float32)
    assert abs(float(tf.reduce_mean(mse(x)))) < 0.5 < abs(float(tf.reduce_mean(rce(x))))


@pytest.mark.parametrize("output_stride", [4, 8, 16, 32])
def test_output_layout_and_sizes(output_stride):
    input_size = (96, 128)  # 3x4 cells at 1/32: the codec's smallest heatmap is 3x3
    model = fasterpose(input_size=input_size, num_keypoints=16, output_stride=output_stride)
    out = model(np.zeros((2, *input_size, 3), np.float32))
    size = (input_size[0] // output_stride, input_size[1] // output_stride)
    assert out.shape == (2, *size, 16) and out.dtype == tf.float32
    codec = HeatmapCodec(input_size=input_size, heatmap_size=size, output="sigmoid", sigma=1.0)
    keypoints, scores = codec.decode(out.numpy())
    assert keypoints.shape == (2, 16, 2) and np.all((scores > 0) & (scores < 1))


def test_depth_to_space_puts_sub_pixel_channels_in_raster_order():
    """Channel (i * r + j) * K + k of a cell lands at pixel (i, j) of its block, keypoint k."""
    r, k = 2, 3
    cell = np.arange(r * r * k, dtype=np.float32).reshape(1, 1, 1, -1)
    out = DepthToSpace(r)(cell).numpy()
    assert out.shape == (1, r, r, k)
    for i in range(r):
        for j in range(r):
            np.testing.assert_array_equal(out[0, i, j], (i * r + j) * k + np.arange(k))


def test_head_starts_at_the_prior():
    model = fasterpose(input_size=SMALL, head_prior=0.02)
    bias = model.get_layer("head").bias.numpy()
    np.testing.assert_allclose(bias, math.log(0.02 / 0.98), rtol=1e-6)
    assert bias.shape == (17 * 4**2,)


def test_stride_8_keeps_the_codec_upper_bound(coco_mini_train):
    """Perfect heatmaps (a perfect sigmoid model's logits decode to the same targets) lose
    nothing at 1/8 with DARK; at 1/32 (8x6 heatmaps) the round trip itself costs AP."""
    ann = coco_mini_train / "annotations" / "person_keypoints_train2017.json"

    def upper_bound(stride):
        codec = HeatmapCodec(heatmap_size=(256 // stride, 192 // stride), sigma=1.0)
        return codec_check(ann, codec, decoder="dark", progress=False)["AP"]

    assert upper_bound(8) >= 0.99
    assert upper_bound(32) < 0.95


@pytest.mark.parametrize("kwargs, message", [
    ({"input_size": (100, 96)}, "multiples of 32, got 100x96"),
    ({"output_stride": 6}, "output_stride must be one of \\(4, 8, 16, 32\\), got 6"),
    ({"head_kernel": 2}, "head_kernel a positive odd size"),
    ({"head_width": 0}, "head_width must be positive"),
    ({"head_prior": 1.0}, "head_prior must lie in"),
    ({"depth": 18}, "depth must be one of"),
    ({"output": "softmax"}, "output must be one of \\('sigmoid', 'gaussian'\\)"),
])
def test_bad_configurations_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fasterpose(**{"input_size": SMALL, **kwargs})


@pytest.mark.slow  # tf-keras reads the 99 MB .keras zip through many small seeks: ~20-40 s
def test_save_and_reload(tmp_path):
    model = fasterpose(input_size=SMALL)
    x = np.random.default_rng(0).uniform(0, 255, (1, *SMALL, 3)).astype(np.float32)
    path = tmp_path / "fasterpose.keras"
    model.save(path)
    reloaded = tf.keras.models.load_model(path)
    assert isinstance(reloaded.get_layer("head_to_space"), DepthToSpace)
    np.testing.assert_array_equal(reloaded(x).numpy(), model(x).numpy())


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Statistics for quantized inputs")  # int8 I/O: expected
def test_converts_to_full_integer_tflite():
    """Every op (DEPTH_TO_SPACE included) has an int8 kernel, the stock interpreter runs it,
    and the dequantised logits follow the float model's."""
    model = fasterpose(input_size=SMALL)
    flatbuffer = convert_int8(model)
    x = np.round(np.random.default_rng(1).uniform(0, 255, (1, *SMALL, 3))).astype(np.float32)
    out = run_tflite(flatbuffer, x)
    assert out.shape == (1, *model.output_shape[1:])
    assert np.corrcoef(out.ravel(), model(x).numpy().ravel())[0, 1] > 0.98


@pytest.mark.slow
def test_float_tflite_equals_keras():
    model = fasterpose(input_size=SMALL)
    flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    x = np.random.default_rng(2).uniform(0, 255, (1, *SMALL, 3)).astype(np.float32)
    expected = model(x).numpy()
    np.testing.assert_allclose(run_tflite(flatbuffer, x), expected,
                               atol=1e-4 * np.abs(expected).max())
