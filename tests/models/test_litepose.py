import numpy as np
import pytest
import tensorflow as tf

from tfpose.models.litepose import (
    DEFAULT_INPUT_SIZES,
    VARIANTS,
    LitePoseConfig,
    litepose,
    litepose_xs,
)
from tfpose.models.summary import convention_macs, layer_macs, model_summary

layers = tf.keras.layers

# Published MACs (G) at the default input sizes (COCO models, K = 17; README of
# mit-han-lab/litepose and the paper).
PUBLISHED_GMACS = {"xs": 1.2, "s": 5.0, "m": 7.8, "l": 13.8}

# Measured once with ``macs`` below (conv, depthwise, transposed conv at batch 1) and
# model_summary's trainable params, K = 17, each variant at its default input size.
SNAPSHOT = {  # variant: (params, MACs)
    "xs": (1_675_912, 885_841_920),
    "s": (2_731_624, 3_624_375_552),
    "m": (3_534_336, 5_275_717_888),
    "l": (5_738_672, 9_979_297_792),
}


def macs(model, prefix: str = "") -> int:
    """Real multiply-accumulates at batch 1 of the layers whose names start with ``prefix``."""
    return sum(layer_macs(layer) for layer in model.layers if layer.name.startswith(prefix))


def ptflops_macs(model) -> int:
    """MACs as the LitePose code counts them (ptflops; see tfpose.models.summary)."""
    return convention_macs(model, "ptflops")


@pytest.fixture(scope="module")
def xs_256x192():
    """LitePose-XS at a non-square input, shared by the tests that only read its structure."""
    return litepose_xs(input_size=(256, 192))


def _depthwise_kernels(model, prefix):
    return {layer.kernel_size for layer in model.layers
            if isinstance(layer, layers.DepthwiseConv2D) and layer.name.startswith(prefix)}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_builds_with_the_documented_output_layout(variant):
    model = litepose(variant=variant, input_size=128, num_keypoints=14)
    out = model(np.zeros((2, 128, 128, 3), np.float32))
    assert [o.shape for o in out] == [(2, 32, 32, 28), (2, 64, 64, 14)]
    assert all(o.dtype == tf.float32 for o in out)
    assert model.output_names == ["stride4_heatmaps_tags", "stride2_heatmaps"]
    assert model.name == f"litepose_{variant}"


def test_non_square_input_sets_the_output_sizes(xs_256x192):
    assert xs_256x192.output_shape == [(None, 64, 48, 34), (None, 128, 96, 17)]
    out = xs_256x192(np.zeros((1, 256, 192, 3), np.float32))
    assert [o.shape for o in out] == [(1, 64, 48, 34), (1, 128, 96, 17)]


@pytest.mark.parametrize("size", [(100, 100), (256, 200), (0, 64), 96])
def test_input_sizes_not_multiple_of_64_are_rejected(size):
    with pytest.raises(ValueError, match="litepose_xs needs an input size whose sides are "
                                         "positive multiples of 64"):
        litepose(variant="xs", input_size=size)


@pytest.mark.parametrize("kwargs, message", [
    (dict(variant="xxl"), "unknown LitePose variant 'xxl'"),
    (dict(head="hrnet"), "head must be one of"),
    (dict(kernel_size=4), "kernel_size must be a positive odd number"),
    (dict(stage_blocks=(6, 8, 10)), "one entry per stage, got 4, 3 and 4"),
    (dict(stage_strides=(2, 2, 2, 2)), "backbone ending at 1/16"),
    (dict(deconv_filters=(16, 24)), "deconv_filters needs 3 entries"),
    (dict(num_keypoints=0), "num_keypoints must be positive"),
])
def test_bad_configs_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        litepose(**{"input_size": 64, **kwargs})


def test_plain_head_allows_a_last_stage_that_downsamples():
    config = LitePoseConfig(stage_strides=(2, 2, 1, 2), head="plain")
    assert config.feature_strides == (2, 4, 8, 8, 16)
    with pytest.raises(ValueError, match="second-last stage at 1/16"):
        LitePoseConfig(stage_strides=(2, 2, 1, 2))


def test_kernel_size_ablation_changes_only_the_backbone_blocks(xs_256x192):
    large, small = xs_256x192, litepose_xs(input_size=64, kernel_size=3)
    assert _depthwise_kernels(large, "stage") == {(7, 7)}
    assert _depthwise_kernels(small, "stage") == {(3, 3)}
    for model in (large, small):
        assert _depthwise_kernels(model, "stem") == {(3, 3)}
        assert _depthwise_kernels(model, "head") == {(5, 5)}


def test_plain_head_ablation_drops_exactly_the_raw_branches(xs_256x192):
    fusion, plain = xs_256x192, litepose_xs(input_size=(256, 192), head="plain")
    transposed = [sum(isinstance(layer, layers.Conv2DTranspose) for layer in m.layers)
                  for m in (fusion, plain)]
    assert transposed == [6, 3]
    raw = {layer.name for layer in fusion.layers if "_raw" in layer.name}
    assert raw and not {layer.name for layer in plain.layers} & raw
    assert macs(fusion) - macs(plain) == sum(layer_macs(fusion.get_layer(name)) for name in raw)
    assert plain.output_shape == fusion.output_shape


def test_released_depths_and_channels(xs_256x192):
    """Every released search result (mobile_configs/search-*.json): 6/8/10/10 blocks with
    strides 2/2/2/1, expansion 6, 7x7 kernels (XS: 16/32/48/80 channels, stem 16)."""
    model = xs_256x192
    assert model.get_layer("stem_project_conv").filters == 16
    depths, widths = (6, 8, 10, 10), (16, 32, 48, 80)
    for stage, (blocks, channels) in enumerate(zip(depths, widths, strict=True), start=1):
        names = {layer.name.split("_")[1] for layer in model.layers
                 if layer.name.startswith(f"stage{stage}_b")}
        assert len(names) == blocks
        assert model.get_layer(f"stage{stage}_b0_project_conv").filters == channels
        assert model.get_layer(f"stage{stage}_b1_expand_conv").filters == 6 * channels


@pytest.mark.slow  # four full builds: about 10 s each on a loaded 2-core machine
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_params_and_macs_snapshot_and_published_macs(variant):
    """Exact counts at the published input size, so an architecture change shows in review; and
    the published MACs reproduced with the convention of the LitePose code (ptflops), within 1%.
    The real MACs are 26-32% below the published figures (see tfpose.models.litepose)."""
    model = litepose(variant=variant)
    assert model.input_shape == (None, DEFAULT_INPUT_SIZES[variant], DEFAULT_INPUT_SIZES[variant],
                                 3)
    assert (model_summary(model)["params"], macs(model)) == SNAPSHOT[variant]
    assert ptflops_macs(model) / 1e9 == pytest.approx(PUBLISHED_GMACS[variant], rel=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("overrides, published", [
    (dict(input_size=320, stem_width=24, stage_channels=(24, 64, 72, 160)), 4.36),
    (dict(input_size=448, stem_width=24, stage_channels=(16, 48, 96, 160)), 7.71),
])
def test_ptflops_convention_reproduces_the_other_released_search_results(overrides, published):
    """arch_search/result/search-M.json and search_result.json of mit-han-lab/litepose: GMACs as
    measured by their search code (ptflops), CrowdPose (K = 14), deconv filters 48/24/24."""
    model = litepose(variant="l", num_keypoints=14, deconv_filters=(48, 24, 24), **overrides)
    assert ptflops_macs(model) / 1e9 == pytest.approx(published, rel=0.001)


@pytest.mark.parametrize("kernel_size", [3, 5, 9])
def test_kernel_sweep_builds_every_size_of_the_paper(kernel_size):
    model = litepose_xs(input_size=64, kernel_size=kernel_size, stage_blocks=(1, 1, 1, 1))
    assert _depthwise_kernels(model, "stage") == {(kernel_size, kernel_size)}
    assert model.output_shape == [(None, 16, 16, 34), (None, 32, 32, 17)]


def test_larger_kernels_cost_more_and_the_plain_head_less():
    """Direction of the two ablations at a small size: MACs and params grow with the kernel;
    at equal deconv filters the plain head costs less than the fusion head (it drops the raw
    skips' transposed convs and predictions)."""
    def cost(**kwargs):
        model = litepose_xs(input_size=128, stage_blocks=(1, 1, 1, 1), **kwargs)
        return model_summary(model)["params"], macs(model)

    sweep = [cost(kernel_size=k) for k in (3, 5, 7, 9)]
    assert all(a[0] < b[0] and a[1] < b[1] for a, b in zip(sweep, sweep[1:], strict=False))
    plain = cost(head="plain")
    assert plain[0] < sweep[2][0] and plain[1] < sweep[2][1]


def _gmacs(value: int) -> str:
    return f"{value / 1e9:.3f}"


@pytest.mark.slow  # six LitePose-S builds at 448x448: about a minute
def test_documented_ablation_costs_are_the_models():
    """The figures of tfpose.models.litepose's docstring, computed (LitePose-S, 448, K = 17):
    the kernel sweep and fusion vs plain head, real MACs and ptflops."""
    import tfpose.models.litepose as module

    doc = " ".join(module.__doc__.split())
    kernels = {k: litepose(variant="s", kernel_size=k) for k in (3, 5, 7, 9)}
    real = [_gmacs(macs(kernels[k])) for k in (3, 5, 7, 9)]
    counted = [_gmacs(ptflops_macs(kernels[k])) for k in (3, 5, 7, 9)]
    assert f"{' / '.join(real)} G real MACs ({' / '.join(counted)} G ptflops)" in doc
    increase = macs(kernels[7]) / macs(kernels[3]) - 1
    counted_increase = ptflops_macs(kernels[7]) / ptflops_macs(kernels[3]) - 1
    assert f"7x7 costs {increase:.0%} more real MACs than 3x3 ({counted_increase:.0%} in " \
           f"ptflops)" in doc

    fusion, plain = kernels[7], litepose(variant="s", head="plain")
    params = {name: model_summary(m)["params"] for name, m in (("fusion", fusion),
                                                                ("plain", plain))}
    assert f"{_gmacs(macs(plain))} G real / {_gmacs(ptflops_macs(plain))} G ptflops and " \
           f"{params['plain'] / 1e6:.3f} M params" in doc
    assert f"fusion head's {_gmacs(macs(fusion))} / {_gmacs(ptflops_macs(fusion))} G and " \
           f"{params['fusion'] / 1e6:.3f} M" in doc
    more = (macs(fusion) / macs(plain) - 1, ptflops_macs(fusion) / ptflops_macs(plain) - 1,
            params["fusion"] / params["plain"] - 1)
    assert f"fusion +{more[0]:.0%} real MACs, +{more[1]:.0%} ptflops, +{more[2]:.1%} params" \
        in doc
    ratio = ptflops_macs(fusion) / ptflops_macs(plain)
    assert f"measured here for fusion over plain ({ratio:.3f})" in doc
    # The paper's pairing as quoted (fusion 4.06 < plain 4.69) is not what these heads give.
    assert ratio > 1 and ratio == pytest.approx(4.69 / 4.06, abs=0.01)


def test_keras_save_and_reload_round_trip(tmp_path):
    # reduced depth keeps it fast; every layer type (and the residual adds) is still there
    model = litepose_xs(input_size=(128, 64), num_keypoints=5, stage_blocks=(2, 1, 1, 2))
    x = np.random.default_rng(0).uniform(0, 255, (1, 128, 64, 3)).astype(np.float32)
    path = tmp_path / "litepose_xs.keras"
    model.save(path)
    reloaded = tf.keras.models.load_model(path)
    for expected, actual in zip(model(x, training=False), reloaded(x, training=False),
                                strict=True):
        np.testing.assert_array_equal(expected, actual)


def _batch1_function(model):
    """The batch-1 inference function and a holder of its variables.

    ``TFLiteConverter.from_keras_model`` works too but serialises every Keras layer first
    (150-175 s for LitePose-XS here, against 16-20 s) and, with the batch left open, keeps
    SHAPE/STRIDED_SLICE/PACK ops that make the transposed convs' outputs dynamic-sized (XNNPACK
    does not delegate those)."""
    spec = tf.TensorSpec((1, *model.input_shape[1:]), tf.float32, name="image")

    def forward(image):
        return dict(zip(model.output_names, model(image, training=False), strict=True))

    function = tf.function(tf.autograph.experimental.do_not_convert(forward),
                           input_signature=[spec], autograph=False)
    holder = tf.Module()
    holder.variables_to_save = list(model.variables)  # tracked without the Keras layers
    return function.get_concrete_function(), holder


@pytest.mark.slow
def test_float_tflite_matches_keras():
    model = litepose_xs(input_size=(128, 64))
    function, holder = _batch1_function(model)
    flatbuffer = tf.lite.TFLiteConverter.from_concrete_functions([function], holder).convert()
    x = np.random.default_rng(1).uniform(0, 255, (1, 128, 64, 3)).astype(np.float32)
    outputs = tf.lite.Interpreter(model_content=flatbuffer).get_signature_runner()(image=x)
    for name, expected in zip(model.output_names, model(x, training=False), strict=True):
        expected = expected.numpy()
        scale = np.abs(expected).max()
        assert np.abs(outputs[name] - expected).max() <= 1e-4 * scale, name


@pytest.mark.slow
def test_full_integer_int8_conversion_runs_on_stock_tflite():
    model = litepose_xs(input_size=(128, 64))
    rng = np.random.default_rng(2)
    images = rng.uniform(0, 255, (4, 1, 128, 64, 3)).astype(np.float32)
    function, holder = _batch1_function(model)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], holder)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([image] for image in images)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    runner = tf.lite.Interpreter(model_content=converter.convert()).get_signature_runner()
    assert runner.get_input_details()["image"]["dtype"] == np.int8
    outputs = runner(image=rng.integers(-128, 128, (1, 128, 64, 3), dtype=np.int8))
    assert {name: (out.shape, out.dtype) for name, out in outputs.items()} == {
        "stride4_heatmaps_tags": ((1, 32, 16, 34), np.int8),
        "stride2_heatmaps": ((1, 64, 32, 17), np.int8)}
