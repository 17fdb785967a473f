"""Binary hourglass models: shapes, input checks, binary share, summary snapshot, save / reload;
the options (scaled / plain weights, ReLU after the convs, stacks with intermediate supervision)
and the bottleneck widths matching the HPM model's parameter count."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tfpose.codecs.model_info import zoo_info
from tfpose.layers.binary import QuantPolicy
from tfpose.losses.heatmap import SigmoidCrossEntropy
from tfpose.models import hourglass_presets
from tfpose.models.hourglass import (
    BinaryHourglass,
    hourglass_bottleneck_binary,
    hourglass_hpm,
    quant_policy,
    stack_outputs,
)
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


def _binary_convs(model):
    return [layer for layer in model.layers if isinstance(layer, lq.layers.QuantConv2D)]


@pytest.mark.parametrize("build", MODELS)
def test_scaled_weights_are_the_default_and_plain_an_option(build):
    default = build(**SHALLOW)
    assert all(isinstance(layer.kernel_quantizer, lq.quantizers.MagnitudeAwareSign)
               for layer in _binary_convs(default))
    assert all(isinstance(layer.input_quantizer, lq.quantizers.SteSign)
               for layer in _binary_convs(default))
    plain = build(**SHALLOW, weights="plain")
    assert all(isinstance(layer.kernel_quantizer, lq.quantizers.SteSign)
               for layer in _binary_convs(plain))
    assert [w.shape for w in plain.weights] == [w.shape for w in default.weights]
    assert model_summary(plain) == model_summary(default)  # same bits, same MACs
    with pytest.raises(ValueError, match="weights must be one of"):
        build(**SHALLOW, weights="ternary")
    with pytest.raises(ValueError, match="not both"):
        build(**SHALLOW, weights="plain", policy=QuantPolicy())


def test_quant_policy():
    assert quant_policy() == QuantPolicy().with_weights("scaled") == BinaryHourglass().policy
    assert quant_policy("plain") == QuantPolicy()
    assert quant_policy(policy=QuantPolicy().float_twin()) == QuantPolicy().float_twin()


@pytest.mark.parametrize("build", MODELS)
def test_relu_after_conv_adds_one_relu_per_binary_conv(build):
    model = build(**SHALLOW, relu_after_conv=True)
    convs = _binary_convs(model)
    relus = {layer.name for layer in model.layers if isinstance(layer, tf.keras.layers.ReLU)
             and layer.name.endswith("_relu") and "_conv" in layer.name}
    assert relus == {conv.name.replace("_bconv", "_relu") for conv in convs}
    plain = build(**SHALLOW)
    assert model.count_params() == plain.count_params()


def test_stacks_output_the_last_stack_and_name_the_earlier_ones():
    model = hourglass_hpm(**SHALLOW, stacks=3)
    assert model.output_shape == (None, 16, 16, 16)
    assert model.output is model.get_layer("heatmaps").output
    for i in (0, 1):  # stacks before the last: prefixed, merged into the next stack's input
        assert model.get_layer(f"s{i}_heatmaps").output_shape == (None, 16, 16, 16)
        assert model.get_layer(f"s{i}_hg_l0_add").output_shape == (None, 16, 16, 32)
        merge = model.get_layer(f"s{i}_merge")
        assert [t.shape[-1] for t in merge.input] == [32, 32, 32]
        assert not is_binary(model.get_layer(f"s{i}_merge_features"))
    assert not any(layer.name.startswith("s2_") for layer in model.layers)  # the last: no prefix
    single = hourglass_hpm(**SHALLOW)
    assert {layer.name for layer in single.layers} <= {layer.name for layer in model.layers}
    with pytest.raises(ValueError, match="stacks must be an integer >= 1"):
        hourglass_hpm(**SHALLOW, stacks=0)


def test_stack_outputs_share_the_models_layers():
    model = hourglass_hpm(**SHALLOW, stacks=2)
    trained = stack_outputs(model)
    assert trained.output_names == ["s0_heatmaps", "heatmaps"]
    assert {id(v) for v in trained.weights} == {id(v) for v in model.weights}
    x = np.random.default_rng(0).uniform(0, 255, (1, 64, 64, 3)).astype("float32")
    first, last = trained(x, training=False)
    np.testing.assert_array_equal(last.numpy(), model(x, training=False).numpy())
    assert not np.allclose(first.numpy(), last.numpy())
    single = hourglass_hpm(**SHALLOW)
    assert stack_outputs(single) is single


def test_two_stacks_train_a_step_with_intermediate_supervision():
    """One loss on every stack's heatmaps (Keras applies it to each output against the same
    targets and sums): both stacks' heads learn, the first from its own loss too."""
    tf.keras.utils.set_random_seed(0)
    model = hourglass_hpm(**SHALLOW, stacks=2)
    trained = stack_outputs(model)
    trained.compile(tf.keras.optimizers.Adam(1e-2), loss=SigmoidCrossEntropy(),
                    run_eagerly=True)  # one step: tracing would cost more than it saves
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    y = rng.uniform(0, 1, (2, 16, 16, 16)).astype("float32")
    weight = np.ones((2, 16), "float32")
    before = {name: model.get_layer(name).get_weights()[0].copy()
              for name in ("s0_heatmaps", "heatmaps", "s0_hg_l0_up_b0_conv1_bconv")}
    logs = trained.fit(x, y, sample_weight=weight, batch_size=2, epochs=1, verbose=0).history
    assert set(logs) == {"loss", "s0_heatmaps_loss", "heatmaps_loss"}
    assert logs["loss"][0] == pytest.approx(logs["s0_heatmaps_loss"][0]
                                            + logs["heatmaps_loss"][0], rel=1e-5)
    for name, kernel in before.items():
        assert not np.allclose(model.get_layer(name).get_weights()[0], kernel), name


def test_stacked_model_is_a_single_output_topdown_model(tmp_path):
    model = hourglass_hpm(**SHALLOW, stacks=2, relu_after_conv=True)
    info = zoo_info(model, "hourglass_hpm")  # what convert and the predictor read
    assert info.kind == "topdown" and info.codec["heatmap_size"] == [16, 16]
    x = np.random.default_rng(1).uniform(0, 255, (1, 64, 64, 3)).astype("float32")
    path = tmp_path / "stacked.keras"
    model.save(path)
    reloaded = tf.keras.models.load_model(path)
    np.testing.assert_array_equal(reloaded(x, training=False).numpy(),
                                  model(x, training=False).numpy())
    assert stack_outputs(reloaded).output_names == ["s0_heatmaps", "heatmaps"]


@pytest.mark.parametrize("size", sorted(hourglass_presets.MATCHED_BOTTLENECK_CHANNELS))
def test_matched_bottleneck_width_has_the_hpm_parameter_count(size):
    """The block comparison at the same parameter count (the paper's protocol): the bottleneck
    at its matched width is within 5 % of the HPM model (parameters do not depend on the input
    size: built at 64x64)."""
    options = {"input_size": (64, 64), **hourglass_presets.PRESETS[size].options}
    hpm = hourglass_hpm(**options)
    channels = hourglass_presets.MATCHED_BOTTLENECK_CHANNELS[size]
    bottleneck = hourglass_bottleneck_binary(**{**options, "channels": channels})
    unmatched = hourglass_bottleneck_binary(**options)
    for count in (lambda m: model_summary(m)["params"], lambda m: m.count_params()):
        assert abs(count(bottleneck) / count(hpm) - 1) < 0.05, (count(bottleneck), count(hpm))
        assert count(unmatched) / count(hpm) < 0.75  # at the same width it is far smaller
    print(size, "params: hpm", model_summary(hpm)["params"], "bottleneck", channels,
          model_summary(bottleneck)["params"])
