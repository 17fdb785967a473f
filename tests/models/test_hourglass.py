"""Binary hourglass models: shapes, input checks, binary share, summary snapshot, save / reload."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tfpose.layers.binary import QuantPolicy
from tfpose.models.hourglass import BinaryHourglass, hourglass_bottleneck_binary, hourglass_hpm
from tfpose.models.summary import is_binary, model_summary

MODELS = [hourglass_hpm, hourglass_bottleneck_binary]
TINY = {"input_size": (64, 64), "channels": 32}  # smallest input at depth 4: a 1x1 bottom
SHALLOW = {**TINY, "depth": 2, "pre_blocks": 1}  # every layer type, a third of the build time

# Parameter / MAC snapshot at the defaults (C=256, 256x256, 16 joints): a change of width,
# bit-width or wiring shows here in review. size_bytes_deployed: 1 bit per binary weight.
SNAPSHOT_256 = {
    "hourglass_hpm": {
        "params": 6_791_248, "macs": 12_025_921_536, "binary_macs": 11_318_132_736,
        "float_macs": 707_788_800, "size_bytes_deployed": 1_309_504,
    },
}


@pytest.fixture(scope="module")
def hpm_256():
    return hourglass_hpm()


def test_hpm_at_256(hpm_256):
    assert hpm_256.name == "hourglass_hpm"
    out = hpm_256(np.zeros((1, 256, 256, 3), "float32"), training=False)
    assert out.shape == (1, 64, 64, 16) and out.dtype == tf.float32
    assert np.isfinite(out.numpy()).all()


def test_hpm_summary_snapshot_and_binary_share(hpm_256):
    summary = model_summary(hpm_256)
    print("hourglass_hpm 256x256:", summary)
    assert {k: summary[k] for k in SNAPSHOT_256["hourglass_hpm"]} == SNAPSHOT_256["hourglass_hpm"]
    assert summary["binary_share"] >= 0.9
    assert 1.2e6 < summary["size_bytes_deployed"] < 1.4e6  # the paper's ~1.3 MB


def test_hpm_float_layers_are_stem_shortcut_and_head(hpm_256):
    float_convs = {layer.name for layer in hpm_256.layers
                   if isinstance(layer, tf.keras.layers.Conv2D) and not is_binary(layer)}
    assert float_convs == {"stem_conv", "stem_b0_shortcut_conv", "head_conv", "heatmaps"}
    binary = [layer for layer in hpm_256.layers if is_binary(layer)]
    assert all(layer.kernel_size == (3, 3) for layer in binary)  # no binary 1x1 in HPM
    # stem + 2 pre + 4 levels x 3 + bottom + post = 17 blocks of 3 binary convs
    assert len(binary) == 17 * 3


@pytest.mark.parametrize("build", MODELS)
def test_builds_at_128(build):
    model = build(input_size=(128, 128))
    assert model.output_shape == (None, 32, 32, 16)
    out = model(np.zeros((1, 128, 128, 3), "float32"), training=False)
    assert out.shape == (1, 32, 32, 16)
    print(build.__name__, "128x128:", model_summary(model))


@pytest.mark.parametrize("build", MODELS)
def test_tiny_build_names_and_layout(build):
    model = build(num_keypoints=17, **TINY)
    assert model.name == build.__name__
    assert model.output_shape == (None, 16, 16, 17)
    assert model.get_layer("heatmaps").dtype == "float32"
    assert model.get_layer("heatmaps").use_bias
    prefixes = ("image", "normalize", "stem_", "pre_", "hg_l", "post_", "head_", "heatmaps")
    assert all(layer.name.startswith(prefixes) for layer in model.layers)
    # depth 4: H/4 = 16 pooled four times down to 1x1, then back up
    assert model.get_layer("hg_l3_low2_b0_add").output_shape == (None, 1, 1, 32)
    assert model.get_layer("hg_l0_add").output_shape == (None, 16, 16, 32)
    pools = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.MaxPooling2D)]
    ups = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.UpSampling2D)]
    assert len(pools) == 5 and len(ups) == 4
    assert all(layer.interpolation == "nearest" for layer in ups)


@pytest.mark.parametrize("size", [(100, 100), (256, 200), (32, 32), (0, 64)])
def test_rejects_sizes_that_are_not_multiples_of_64(size):
    with pytest.raises(ValueError, match="multiples of 64"):
        hourglass_hpm(input_size=size)


def test_depth_sets_the_size_multiple():
    model = hourglass_hpm(input_size=(48, 48), channels=32, depth=2, pre_blocks=1)
    assert model.output_shape == (None, 12, 12, 16)
    with pytest.raises(ValueError, match="multiples of 16"):
        hourglass_hpm(input_size=(56, 56), depth=2)


def test_config_validation():
    with pytest.raises(ValueError):
        BinaryHourglass(num_keypoints=0)
    with pytest.raises(ValueError):
        BinaryHourglass(depth=0)
    assert BinaryHourglass(input_size=[128, 64]).input_size == (128, 64)


def test_hpm_vs_bottleneck_binary_convs():
    hpm = hourglass_hpm(**TINY, pre_blocks=0, depth=1)
    bottleneck = hourglass_bottleneck_binary(**TINY, pre_blocks=0, depth=1)

    def convs(model, block):
        return [(layer.kernel_size[0], layer.output_shape[-1]) for layer in model.layers
                if is_binary(layer) and layer.name.startswith(f"{block}_")]

    assert convs(hpm, "post_b0") == [(3, 16), (3, 8), (3, 8)]
    assert [t.shape[-1] for t in hpm.get_layer("post_b0_concat").input] == [16, 8, 8]
    assert convs(bottleneck, "post_b0") == [(1, 16), (3, 16), (1, 32)]


@pytest.mark.parametrize("build", MODELS)
def test_policies_share_layers(build):
    binary = build(**SHALLOW)
    assert model_summary(binary)["binary_share"] > 0
    for policy in (QuantPolicy().float_twin(), QuantPolicy().stage_one()):
        other = build(**SHALLOW, policy=policy)
        assert model_summary(other)["binary_share"] == 0.0  # float kernels: not binary MACs
        assert [w.name for w in other.weights] == [w.name for w in binary.weights]
        other.set_weights(binary.get_weights())  # stage-one weights carry over to stage two


def _perturb_batch_norms(model, rng):
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.2, n),
                               rng.normal(0, 0.2, n), rng.uniform(0.5, 1.5, n)])


@pytest.mark.parametrize("build", MODELS)
def test_save_and_reload_keras(build, tmp_path):
    model = build(**SHALLOW)
    rng = np.random.default_rng(0)
    _perturb_batch_norms(model, rng)
    x = rng.uniform(0, 255, size=(2, 64, 64, 3)).astype("float32")
    expected = model(x, training=False).numpy()
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    reloaded = tf.keras.models.load_model(path)
    np.testing.assert_array_equal(reloaded(x, training=False).numpy(), expected)
    assert model_summary(reloaded) == model_summary(model)
    assert any(isinstance(layer, lq.layers.QuantConv2D) for layer in reloaded.layers)
