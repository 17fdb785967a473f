"""PyTorch's padding (tfpose.layers.common.pad_like_torch), checked on outputs computed by hand."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose.layers.common import pad_like_torch


def _padded_conv(kernel_size, strides, size=8, depthwise=False):
    inputs = tf.keras.Input((size, size, 1))
    x, padding = pad_like_torch(inputs, kernel_size, strides, name="c")
    conv = (tf.keras.layers.DepthwiseConv2D(kernel_size, strides, padding=padding, use_bias=False,
                                            depthwise_initializer="ones")
            if depthwise else
            tf.keras.layers.Conv2D(1, kernel_size, strides, padding=padding, use_bias=False,
                                   kernel_initializer="ones"))
    return tf.keras.Model(inputs, conv(x))


def _torch_box_sum(image, kernel_size, strides):
    """Sum over each k x k window of ``image`` zero-padded by k // 2 on every side, every
    ``strides`` pixels: a PyTorch ``Conv2d(k, stride, padding=k // 2)`` with a kernel of ones."""
    pad = kernel_size // 2
    padded = np.pad(image, pad)
    out = (image.shape[0] + 2 * pad - kernel_size) // strides + 1
    return np.array([[padded[i * strides:i * strides + kernel_size,
                             j * strides:j * strides + kernel_size].sum()
                      for j in range(out)] for i in range(out)])


@pytest.mark.parametrize("kernel_size, strides, depthwise", [
    (3, 2, False), (7, 2, True), (3, 2, True), (3, 1, False), (7, 1, True), (1, 2, False)])
def test_convolutions_pad_like_pytorch(kernel_size, strides, depthwise):
    image = np.arange(64, dtype=np.float32).reshape(8, 8)  # every pixel tells its position
    model = _padded_conv(kernel_size, strides, depthwise=depthwise)
    out = model(image[None, ..., None]).numpy()[0, ..., 0]
    np.testing.assert_allclose(out, _torch_box_sum(image, kernel_size, strides), rtol=1e-6)


def test_tf_same_would_differ_at_stride_two():
    """The reason for pad_like_torch: "same" pads (0, 1) at stride 2, not (1, 1)."""
    image = np.arange(64, dtype=np.float32).reshape(1, 8, 8, 1)
    same = tf.keras.layers.Conv2D(1, 3, 2, padding="same", use_bias=False,
                                  kernel_initializer="ones")(image).numpy()[0, ..., 0]
    assert not np.allclose(same, _torch_box_sum(image[0, ..., 0], 3, 2))


def test_stride_one_adds_no_layer():
    inputs = tf.keras.Input((8, 8, 1))
    x, padding = pad_like_torch(inputs, 3, 1, name="c")
    assert x is inputs and padding == "same"
