"""Folding RPReLU shifts into neighbouring constants (tfpose.export.folding): same outputs, one
SUB op fewer per folded RPReLU, the original model untouched."""

import numpy as np
import tensorflow as tf

from tfpose.export.folding import rprelu_shifts_folded
from tfpose.export.job import stand_in_weights
from tfpose.export.lce import convert_to_lce
from tfpose.layers.binary import RPReLU
from tfpose.models import create
from tfpose.runtime.flatbuffer import op_histogram
from tfpose.runtime.interpreter import LCEInterpreterRunner


def test_every_bihrnet_shift_folds_and_the_outputs_stay():
    model = create("bihrnet_w32", input_size=(64, 64), modules=(1, 1, 1), branch_blocks=1)
    stand_in_weights(model)  # non-zero shifts, as after training
    before = [w.numpy() for w in model.weights]
    x = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    expected = model(x).numpy()
    rprelus = [layer for layer in model.layers if isinstance(layer, RPReLU)]
    with rprelu_shifts_folded(model) as count:
        # Every RPReLU of BiHRNet reads a sum with a BatchNorm, an RPReLU or a concatenation
        # or up-sampling of them in it.
        assert count == len(rprelus) > 40
        assert not any(layer.shift_in.numpy().any() for layer in rprelus)
        assert np.abs(model(x).numpy() - expected).max() <= 1e-5 * np.ptp(expected)
    for weight, value in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(weight.numpy(), value)  # put back on leaving


def test_a_sum_with_nothing_to_absorb_the_shift_keeps_it():
    """Both summands feed something else too: the shift stays, and the file keeps its SUB."""
    inputs = tf.keras.Input((8, 8, 16))
    a = tf.keras.layers.BatchNormalization()(inputs)
    b = tf.keras.layers.Conv2D(16, 1)(inputs)
    activation = RPReLU()
    out = activation(tf.keras.layers.Add()([a, b]))
    model = tf.keras.Model(inputs, [out, a])  # a feeds the output too
    stand_in_weights(model)
    with rprelu_shifts_folded(model) as count:
        assert count == 0
    single = tf.keras.Model(inputs, out)
    unfolded = convert_to_lce(single)
    with rprelu_shifts_folded(single) as count:
        assert count == 1
        folded = convert_to_lce(single)
    assert [op_histogram(f).get("SUB", 0) for f in (unfolded, folded)] == [1, 0]
    x = np.random.default_rng(1).normal(size=(1, 8, 8, 16)).astype(np.float32)
    for flatbuffer in (unfolded, folded):
        np.testing.assert_allclose(LCEInterpreterRunner(flatbuffer)(x), single(x).numpy(),
                                   atol=1e-5)
