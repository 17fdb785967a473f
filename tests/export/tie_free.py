"""Weights that rule out sign ties, for exact Keras-vs-LCE checks of binary blocks."""

import tensorflow as tf

from tfpose.layers.binary import LearnableBias


def tie_free_weights(model, rng) -> None:
    """Random float weights, with every pre-sign shift at an odd multiple of 1/16."""
    for layer in model.layers:
        if isinstance(layer, LearnableBias):
            layer.set_weights([(2 * rng.integers(-8, 8, layer.bias.shape) + 1) / 16])
        elif isinstance(layer, tf.keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(-2, 2, n), rng.normal(size=n),
                               rng.normal(size=n) * 3, rng.uniform(0.5, 4, n)])
        elif layer.weights and not isinstance(layer, tf.keras.layers.InputLayer):
            layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])
