"""HRNet's real-valued parts follow the authors' geometry: nearest upsampling, PyTorch padding."""

import numpy as np
import tensorflow as tf

from tfpose.layers.hrnet_blocks import float_blocks


def test_fuse_up_is_a_1x1_conv_then_nearest_upsampling():
    """The authors' ``nn.Upsample(scale_factor=2**k, mode="nearest")``: every low-resolution
    value fills a 2**k x 2**k block."""
    inputs = tf.keras.Input((2, 3, 1))
    model = tf.keras.Model(inputs, float_blocks().fuse_up(inputs, 1, 4, "f"))
    model.get_layer("f_conv").set_weights([np.ones((1, 1, 1, 1), np.float32)])
    low = np.arange(6, dtype=np.float32).reshape(1, 2, 3, 1)
    out = model(low).numpy()[0, ..., 0] * np.sqrt(1 + 1e-5)  # BatchNorm at initialisation
    np.testing.assert_allclose(out, np.kron(low[0, ..., 0], np.ones((4, 4))), rtol=1e-6)


def test_stride_two_parts_pad_on_every_side():
    blocks = float_blocks()
    inputs = tf.keras.Input((8, 8, 4))
    outputs = [blocks.stem(inputs, 4, "stem"), blocks.transition(inputs, 4, 2, "t"),
               blocks.fuse_down(inputs, 4, True, "d")]
    model = tf.keras.Model(inputs, outputs)
    for name in ("stem", "t", "d"):
        assert model.get_layer(f"{name}_pad").padding == ((1, 1), (1, 1))
        assert model.get_layer(f"{name}_conv").padding == "valid"
    assert [tuple(o.shape[1:]) for o in model.outputs] == [(4, 4, 4)] * 3
