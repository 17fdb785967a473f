import numpy as np
import pytest
import tensorflow as tf

from tfpose.models.simple_baseline import simple_baseline
from tfpose.models.summary import convention_macs, model_summary

# Published (Xiao et al. 2018, as tabulated by HRNet, 256x192): params and "GFLOPs", which the
# authors' code counts as kernel size x output positions for every conv, divided by 1024^3.
PUBLISHED_R50 = (34.0e6, 8.9)
SMALL = (64, 96)  # H, W: the smallest non-square multiples of 32 the backbone accepts


@pytest.fixture(scope="module")
def r50():
    return simple_baseline(input_size=(256, 192))


def test_matches_published_size_and_cost(r50):
    params, gflops = PUBLISHED_R50
    assert model_summary(r50)["params"] == pytest.approx(params, rel=0.01)
    assert convention_macs(r50, "hrnet") / 1024**3 == pytest.approx(gflops, rel=0.05)


def test_snapshot_r50(r50):
    """Exact counts, so a structural change shows up in review. Real MACs count a transposed
    conv once per input position; the papers' convention once per output position (x4)."""
    summary = model_summary(r50)
    assert (summary["params"], summary["macs"], convention_macs(r50, "hrnet")) == (
        33_999_697, 5_426_380_800, 9_654_239_232)
    assert r50.output_shape == (None, 64, 48, 17)


@pytest.mark.parametrize("input_size, num_keypoints", [(SMALL, 17), ((96, 64), 16)])
def test_output_layout_and_sizes(input_size, num_keypoints):
    model = simple_baseline(input_size=input_size, num_keypoints=num_keypoints)
    out = model(np.zeros((2, *input_size, 3), np.float32))
    assert out.shape == (2, input_size[0] // 4, input_size[1] // 4, num_keypoints)
    assert out.dtype == tf.float32
    assert model.get_layer("deconv0_conv").kernel.shape == (4, 4, 256, 2048)


def test_fewer_deconvs_give_a_coarser_output():
    model = simple_baseline(input_size=SMALL, deconv_filters=(256, 256))
    assert model.output_shape == (None, 8, 12, 17)  # stride 8


@pytest.mark.parametrize("kwargs, message", [
    ({"input_size": (100, 96)}, "multiples of 32, got 100x96"),
    ({"input_size": (0, 96)}, "positive multiples of 32"),
    ({"depth": 34}, "depth must be one of"),
    ({"deconv_filters": ()}, "deconv_filters needs 1 to 5"),
    ({"deconv_kernel": 1}, "deconv_kernel must be >= 2"),
])
def test_bad_configurations_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simple_baseline(**{"input_size": SMALL, **kwargs})


@pytest.mark.slow  # tf-keras reads the 136 MB .keras zip through many small seeks: ~20-45 s
def test_save_and_reload(tmp_path):
    model = simple_baseline(input_size=SMALL)
    x = np.random.default_rng(0).uniform(0, 255, (1, *SMALL, 3)).astype(np.float32)
    path = tmp_path / "simple_baseline.keras"
    model.save(path)
    reloaded = tf.keras.models.load_model(path)
    np.testing.assert_array_equal(reloaded(x).numpy(), model(x).numpy())


# ---- TFLite ------------------------------------------------------------------------------------
def convert_int8(model: tf.keras.Model, num_images: int = 4) -> bytes:
    """Full-integer TFLite: int8 weights, activations, input and output; fails on any op the
    int8 builtin kernels lack."""
    shape = model.input_shape[1:]
    rng = np.random.default_rng(0)

    def representative():
        for _ in range(num_images):
            yield [rng.uniform(0, 255, (1, *shape)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def run_tflite(flatbuffer: bytes, x: np.ndarray) -> np.ndarray:
    """Output of a float TFLite model; an int8 model gets ``x`` quantised and its output
    dequantised with the model's own scales, so both compare with Keras."""
    interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    if inp["dtype"] == np.int8:
        scale, zero_point = inp["quantization"]
        x = np.clip(np.round(x / scale + zero_point), -128, 127).astype(np.int8)
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    y = interpreter.get_tensor(out["index"])
    assert y.dtype == out["dtype"]
    if out["dtype"] == np.int8:
        scale, zero_point = out["quantization"]
        y = (y.astype(np.float32) - zero_point) * scale
    return y


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Statistics for quantized inputs")  # int8 I/O: expected
def test_converts_to_full_integer_tflite():
    """Every op has an int8 kernel (conversion fails otherwise), the stock interpreter runs it,
    and the dequantised heatmaps follow the float model's."""
    model = simple_baseline(input_size=SMALL)
    flatbuffer = convert_int8(model)
    details = tf.lite.Interpreter(model_content=flatbuffer).get_output_details()[0]
    assert details["dtype"] == np.int8
    x = np.round(np.random.default_rng(1).uniform(0, 255, (1, *SMALL, 3))).astype(np.float32)
    out = run_tflite(flatbuffer, x)
    assert out.shape == (1, *model.output_shape[1:])
    assert np.corrcoef(out.ravel(), model(x).numpy().ravel())[0, 1] > 0.98


@pytest.mark.slow
def test_float_tflite_equals_keras():
    model = simple_baseline(input_size=SMALL)
    flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    x = np.random.default_rng(2).uniform(0, 255, (1, *SMALL, 3)).astype(np.float32)
    expected = model(x).numpy()
    np.testing.assert_allclose(run_tflite(flatbuffer, x), expected,
                               atol=1e-4 * np.abs(expected).max())
