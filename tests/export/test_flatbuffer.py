import numpy as np
import tensorflow as tf

from tfpose.export.flatbuffer import op_histogram, order_outputs_by_signature, signature_outputs
from tfpose.export.lce import convert_to_lce, run_lce


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
