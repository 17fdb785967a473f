import numpy as np
import pytest
import tensorflow as tf

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.export.decoder import HeatmapDecoder, with_decoder
from tfpose.export.lce import convert_to_lce
from tfpose.runtime.interpreter import run_lce

CODEC = HeatmapCodec(input_size=(64, 48), heatmap_size=(16, 12), sigma=1.5)


def reference(outputs, codec):
    """The codec's quarter decoder, mapped to input pixels with the codec's convention."""
    points, scores = codec.decode(outputs, "quarter")
    return np.concatenate([codec.heatmap_to_input(points), scores[..., None]], -1)


def peaked_heatmaps(n=6, k=5, seed=0):
    """Gaussian bumps at random sub-pixel spots (borders included) plus noise."""
    rng = np.random.default_rng(seed)
    h, w = CODEC.heatmap_size
    centres = rng.uniform(-0.4, [w - 0.6, h - 0.6], (n, k, 2))
    centres[0, 0] = (0.0, 5.2)  # a peak on the border: no quarter step there
    heatmaps, _ = CODEC.encode(centres.astype(np.float32), np.ones((n, k)))
    return heatmaps.numpy() + rng.normal(0, 0.01, (n, h, w, k)).astype(np.float32)


@pytest.mark.parametrize("output", ["gaussian", "sigmoid"])
def test_equals_the_codecs_quarter_decoder(output):
    codec = HeatmapCodec(input_size=(64, 48), heatmap_size=(16, 12), output=output)
    heatmaps = peaked_heatmaps()
    outputs = 8 * heatmaps - 4 if output == "sigmoid" else heatmaps
    decoded = HeatmapDecoder(codec.input_size, output)(outputs).numpy()
    np.testing.assert_allclose(decoded, reference(outputs, codec), atol=1e-5)
    assert decoded[0, 0, 0] == pytest.approx(-0.5 + 2.0)  # border peak x = 0: stride 4


def test_follows_the_msra_convention():
    codec = HeatmapCodec(input_size=(64, 48), heatmap_size=(16, 12), convention="msra")
    heatmaps = peaked_heatmaps()
    heatmaps[1, 3, 1, 2] = 5.0  # a peak at x = 1: no quarter step under MSRA
    heatmaps[2, ..., 3] = -np.abs(heatmaps[2, ..., 3]) - 0.1  # no positive peak: (0, 0)
    decoded = HeatmapDecoder(codec.input_size, convention="msra")(heatmaps).numpy()
    np.testing.assert_allclose(decoded, reference(heatmaps, codec), atol=1e-5)
    assert decoded[1, 2, 0] == 4.0 and decoded[2, 3, :2].tolist() == [0.0, 0.0]
    assert decoded[0, 0, 0] == 0.0  # border peak x = 0: input pixel 0


def test_converted_decoder_model_gives_keypoints_as_the_keras_model():
    inputs = tf.keras.Input((64, 48, 3))
    x = tf.keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
    heatmaps = tf.keras.layers.Conv2D(17, 3, strides=2, padding="same")(x)
    model = tf.keras.Model(inputs, heatmaps)
    decoded = with_decoder(model, CODEC)
    assert decoded.output_shape == (None, 17, 3)
    images = np.random.default_rng(1).uniform(0, 255, (3, 64, 48, 3)).astype(np.float32)
    converted = run_lce(convert_to_lce(decoded), images)
    np.testing.assert_allclose(converted, decoded(images).numpy(), atol=1e-3)
    np.testing.assert_allclose(converted, reference(model(images).numpy(), CODEC), atol=1e-3)


def test_a_model_that_does_not_fit_is_named():
    inputs = tf.keras.Input((64, 48, 3))
    model = tf.keras.Model(inputs, tf.keras.layers.Conv2D(17, 1, strides=2)(inputs))
    with pytest.raises(ValueError, match=r"expects heatmaps of \(16, 12\)"):
        with_decoder(model, CODEC)
    with pytest.raises(ValueError, match="output must be one of"):
        HeatmapDecoder((64, 48), "softmax")
