import numpy as np
import pytest
import tensorflow as tf

from tfpose.layers.resnet_blocks import bottleneck, conv_bn, resnet_backbone
from tfpose.models.summary import model_summary

# torchvision resnet50: 25,557,032 parameters, of which the classifier (2048 x 1000 + 1000)
# is 2,049,000; BatchNorm's trainable gamma / beta count in both frameworks.
TORCHVISION_RESNET50_WITHOUT_FC = 25_557_032 - 2_049_000


def backbone_model(input_size=(64, 96), **kwargs):
    inputs = tf.keras.Input((*input_size, 3))
    return tf.keras.Model(inputs, resnet_backbone(inputs, **kwargs))


@pytest.fixture(scope="module")
def resnet50():
    return backbone_model()


def test_features_strides_and_widths(resnet50):
    shapes = {name: tuple(t.shape[1:]) for name, t in resnet50.output.items()}
    assert shapes == {"c2": (16, 24, 256), "c3": (8, 12, 512), "c4": (4, 6, 1024),
                      "c5": (2, 3, 2048)}


def test_resnet50_parameters_equal_torchvision(resnet50):
    assert model_summary(resnet50)["params"] == TORCHVISION_RESNET50_WITHOUT_FC


def test_v1_moves_the_stride_to_the_first_1x1(resnet50):
    v15, v1 = resnet50, backbone_model(stride_in_1x1=True)
    assert v15.get_layer("res3_b0_2_conv").strides == (2, 2)
    assert v15.get_layer("res3_b0_1_conv").strides == (1, 1)
    assert v1.get_layer("res3_b0_1_conv").strides == (2, 2)
    assert v1.get_layer("res3_b0_2_conv").strides == (1, 1)
    s15, s1 = model_summary(v15), model_summary(v1)
    assert s15["params"] == s1["params"] and s1["macs"] < s15["macs"]


def test_deeper_variants_only_add_blocks():
    model = backbone_model((64, 64), depth=101)  # 152 differs from it only in RESNET_BLOCKS
    for stage, blocks in zip((2, 3, 4, 5), (3, 4, 23, 3), strict=True):
        names = {layer.name.split("_")[1] for layer in model.layers
                 if layer.name.startswith(f"res{stage}_")}
        assert len(names) == blocks
    assert model.output["c5"].shape[1:] == (2, 2, 2048)


def test_unknown_depth_is_refused():
    with pytest.raises(ValueError, match="depth must be one of \\[50, 101, 152\\], got 34"):
        backbone_model(depth=34)


def test_strided_conv_pads_symmetrically_like_pytorch():
    """A 3x3 stride-2 conv pads one pixel on every side (PyTorch ``padding=1``); TF "same" would
    pad only bottom / right, so the top-left output would see 9 input pixels instead of 4."""
    inputs = tf.keras.Input((8, 8, 1))
    model = tf.keras.Model(inputs, conv_bn(inputs, 1, 3, 2, relu=False, name="c"))
    model.get_layer("c_conv").set_weights([np.ones((3, 3, 1, 1), np.float32)])
    out = model(np.ones((1, 8, 8, 1), np.float32)).numpy()[0, ..., 0]
    scale = 1.0 / np.sqrt(1.0 + 1e-5)  # BatchNorm at initialisation
    assert out.shape == (4, 4)
    np.testing.assert_allclose(out[0, 0], 4 * scale, rtol=1e-6)  # corner: 2x2 real pixels
    np.testing.assert_allclose(out[0, 1], 6 * scale, rtol=1e-6)  # top edge: 2x3
    np.testing.assert_allclose(out[3, 3], 9 * scale, rtol=1e-6)  # rows / cols 5..7


def test_strided_bottleneck_projects_the_shortcut_and_identity_otherwise():
    inputs = tf.keras.Input((16, 16, 256))
    down = bottleneck(inputs, 128, strides=2, name="down")
    same = bottleneck(down, 128, name="same")
    model = tf.keras.Model(inputs, same)
    assert tuple(down.shape[1:]) == (8, 8, 512) and tuple(same.shape[1:]) == (8, 8, 512)
    names = {layer.name for layer in model.layers}
    assert "down_down_conv" in names and "same_down_conv" not in names
