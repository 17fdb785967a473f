import numpy as np
import tensorflow as tf

from tfpose.export.lce import convert_to_lce
from tfpose.runtime.flatbuffer import op_histogram, order_outputs_by_signature, signature_outputs
from tfpose.runtime.interpreter import run_lce


def _many_outputs_model(count=12):
    inputs = tf.keras.Input((4, 4, 3))
    # Output i has i + 1 channels, so the order of the outputs is visible in their shapes.
    outputs = [tf.keras.layers.Conv2D(i + 1, 1, name=f"out{i}")(inputs) for i in range(count)]
    return tf.keras.Model(inputs, outputs)


def test_converted_outputs_keep_the_keras_order():
    model = _many_outputs_model()
    flatbuffer = convert_to_lce(model)
    image = np.random.default_rng(0).normal(size=(2, 4, 4, 3)).astype(np.float32)
    outputs = run_lce(flatbuffer, image)
    assert [o.shape[-1] for o in outputs] == list(range(1, 13))
    for got, want in zip(outputs, model(image), strict=True):
        np.testing.assert_allclose(got, want.numpy(), atol=1e-5)


def test_reordering_is_a_no_op_on_ordered_files():
    flatbuffer = convert_to_lce(_many_outputs_model(3))
    assert order_outputs_by_signature(flatbuffer) == flatbuffer
    assert [name for name, _ in signature_outputs(flatbuffer)] == [
        "output_000", "output_001", "output_002"]
    assert op_histogram(flatbuffer) == {"CONV_2D": 3}


def test_same_convs_strided_past_their_kernel_are_found_and_run_without_xnnpack(caplog):
    """TF 2.16's XNNPACK computes a SAME conv whose stride exceeds its kernel wrongly; such
    files run without it, with a warning, and give the Keras model's values."""
    import numpy as np
    import tensorflow as tf
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    from tfpose.runtime.flatbuffer import strided_past_kernel_same_convs
    from tfpose.runtime.interpreter import LCEInterpreterRunner

    def converted(kernel, strides, padding="same"):
        inputs = tf.keras.Input((64, 48, 3))
        conv = tf.keras.layers.Conv2D(4, kernel, strides=strides, padding=padding, name="conv")
        model = tf.keras.Model(inputs, conv(inputs))
        return model, tf.lite.TFLiteConverter.from_keras_model(model).convert()

    cases = {(3, 4, "same"): True, (2, 3, "same"): True, (3, 4, "valid"): False,
             (1, 2, "same"): False, (3, 2, "same"): False, (4, 4, "same"): False}
    image = np.random.default_rng(0).uniform(0, 255, (1, 64, 48, 3)).astype(np.float32)
    for (kernel, strides, padding), wrong in cases.items():
        model, flatbuffer = converted(kernel, strides, padding)
        assert bool(strided_past_kernel_same_convs(flatbuffer)) is wrong, (kernel, strides)
        with caplog.at_level("WARNING", logger="tfpose"):
            caplog.clear()
            got = LCEInterpreterRunner(flatbuffer)(image)
        assert ("XNNPACK off for this file" in caplog.text) is wrong
        expected = model(image).numpy()
        assert np.abs(got - expected).max() <= 1e-5 * np.ptp(expected)
    # The bug this guards against: with XNNPACK forced on, the same file is far off. When this
    # fails, TensorFlow's XNNPACK got it right and the guard can go.
    model, flatbuffer = converted(3, 4)
    expected = model(image).numpy()
    forced = Interpreter(flatbuffer, num_threads=1, use_xnnpack=True).predict(image)
    assert np.abs(forced - expected).max() > 0.1 * np.ptp(expected)
