import numpy as np
import pytest
import tensorflow as tf

from tfpose.layers.binary import QuantPolicy
from tfpose.models.bihrnet import bihrnet
from tfpose.models.summary import is_binary, model_summary

SMALL = {"input_size": (64, 64), "modules": (1, 1, 1), "branch_blocks": 1}


@pytest.mark.parametrize("width", [18, 32])
def test_at_least_90_percent_of_macs_are_binary(width):
    summary = model_summary(bihrnet(width=width, input_size=(256, 192)))
    assert summary["binary_share"] >= 0.9
    assert summary["size_bytes_deployed"] < summary["size_bytes_float32"] / 10


def test_float_layers_are_only_the_documented_ones():
    model = bihrnet(width=32, **SMALL)
    convs = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.Conv2D)]
    float_convs = {layer.name for layer in convs if not is_binary(layer)}
    documented = ("stem1_conv", "head")
    for name in float_convs:  # stem, head, exchange up-projections, shortcut projections
        assert name in documented or name.endswith("_shortcut_conv") or (
            "_f" in name and name.endswith("_conv")), name
    assert any(is_binary(layer) for layer in convs)


def test_binary_layers_follow_the_lce_policy():
    model = bihrnet(width=32, **SMALL)
    binary = [layer for layer in model.layers if is_binary(layer)]
    for layer in binary:
        assert layer.padding == "same" and layer.pad_values == 1.0 and not layer.use_bias
        assert layer.kernel_constraint is not None
    assert all(layer.input_shape[-1] % 32 == 0 for layer in binary)


def test_policies_build_the_same_architecture():
    binary = bihrnet(width=32, **SMALL)
    stage_one = bihrnet(width=32, policy=QuantPolicy().stage_one(), **SMALL)
    assert [w.shape for w in binary.weights] == [w.shape for w in stage_one.weights]
    assert model_summary(stage_one)["binary_macs"] == 0


def test_save_and_reload(tmp_path):
    model = bihrnet(width=32, **SMALL)
    x = np.random.default_rng(0).uniform(0, 255, (1, 64, 64, 3)).astype(np.float32)
    path = tmp_path / "bihrnet.keras"
    model.save(path)
    reloaded = tf.keras.models.load_model(path)
    np.testing.assert_allclose(reloaded(x).numpy(), model(x).numpy(), atol=1e-5)
