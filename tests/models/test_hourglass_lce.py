"""The binary hourglass's options through Larq Compute Engine.

* scaled weights (the default): LCE turns each conv into ``LceBconv2d`` with alpha (the mean
  magnitude of each output filter) as its per-channel output multiplier: read from the file;
* every block configuration (HPM / bottleneck, plain / scaled weights, with and without the ReLU
  after the convs) converts exactly when no pre-sign value is near 0 (the tie-free check of
  tests/export/test_parity.py);
* the default hourglass, briefly trained: every binary conv binarised, no float op more than
  with plain weights, and the converted file agrees with Keras within ``TOLERANCES["binary"]``;
* two stacks convert to one output, the last stack's heatmaps.
"""

import numpy as np
import pytest
import tensorflow as tf

from tests.export.tie_free import tie_free_weights
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.data.bundled import synthetic_dataset
from tfpose.data.coco import read_coco_persons
from tfpose.data.topdown import topdown_dataset
from tfpose.export.lce import convert_to_lce, lce_report
from tfpose.export.parity import TOLERANCES, heatmap_parity, judge
from tfpose.layers.binary import QuantPolicy
from tfpose.layers.hourglass_blocks import binary_bottleneck_block, hpm_block
from tfpose.models import hourglass_presets
from tfpose.models.hourglass import hourglass_hpm, quant_policy, stack_outputs
from tfpose.runtime.flatbuffer import io_details, operators
from tfpose.runtime.interpreter import run_lce

SMALL = {"input_size": (64, 64), **hourglass_presets.PRESETS["small"].options}  # C=128, depth 3


def _float_inputs(model, graph, op, positions):
    values = []
    for position in positions:
        tensor = graph.Tensors(int(op.Inputs(position)))
        data = model.Buffers(tensor.Buffer()).DataAsNumpy().tobytes()
        values.append(np.frombuffer(data, np.float32))
    return values


@pytest.mark.parametrize("weights", ["plain", "scaled"])
def test_scaled_weights_fold_alpha_into_the_output_multiplier(weights):
    inputs = tf.keras.Input((8, 8, 64))
    conv = quant_policy(weights).conv(32, 3)
    model = tf.keras.Model(inputs, conv(inputs))
    kernel = np.random.default_rng(0).normal(size=conv.kernel.shape).astype("float32")
    conv.set_weights([kernel])
    flatbuffer = convert_to_lce(model)
    assert lce_report(model, flatbuffer)["not_binarised"] == []
    (multiplier, bias), = [_float_inputs(m, graph, op, (2, 3))
                           for m, graph, op, name in operators(flatbuffer)
                           if name == "LceBconv2d"]
    alpha = np.abs(kernel).mean(axis=(0, 1, 2)) if weights == "scaled" else np.ones(32)
    np.testing.assert_allclose(multiplier, alpha, rtol=1e-6)
    np.testing.assert_array_equal(bias, np.zeros(32))


@pytest.mark.parametrize("block", [hpm_block, binary_bottleneck_block])
@pytest.mark.parametrize(("weights", "relu"), [("plain", False), ("scaled", False),
                                               ("plain", True), ("scaled", True)])
def test_blocks_convert_exactly(block, weights, relu):
    inputs = tf.keras.Input((16, 12, 64))  # 64 -> 128: the float 1x1 shortcut too
    model = tf.keras.Model(inputs, block(inputs, 128, QuantPolicy().with_weights(weights),
                                         relu=relu, name="u"))
    rng = np.random.default_rng(0)
    tie_free_weights(model, rng)
    images = rng.integers(-32, 33, size=(3, 16, 12, 64)) / 8
    flatbuffer = convert_to_lce(model)
    report = lce_report(model, flatbuffer)
    assert report["lce_bconv2d"] == report["quant_conv2d"] == 3
    assert report["not_binarised"] == []
    # LCE fuses a ReLU into the op only when its output multiplier is 1: not with scaled
    # weights, where the float RELU also stops the bottleneck's conv1 and conv2 from folding the
    # next BatchNorm and writing bit-packed output (HPM: never, conv1 and conv2 have two readers)
    unfused = relu and weights == "scaled"
    assert report["ops"].get("RELU", 0) == (3 if unfused else 0)
    bitpacked = 2 if block is binary_bottleneck_block and not unfused else 0
    assert report["conv_totals"]["bitpacked_outputs"] == bitpacked
    expected = model(images, training=False).numpy()
    np.testing.assert_allclose(run_lce(flatbuffer, images), expected,
                               atol=1e-5 * np.ptp(expected))


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    """16 synthetic person crops at 64x64 and their 16x16 targets."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TFPOSE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        ann, images = synthetic_dataset("val", num_images=12, progress=False)
    codec = HeatmapCodec(input_size=(64, 64), heatmap_size=(16, 16), output="sigmoid", sigma=1.0)
    batch = next(iter(topdown_dataset(read_coco_persons(ann, images), codec, batch_size=16)))
    return codec, batch["image"].numpy(), batch["heatmaps"].numpy()


def test_default_hourglass_binarises_every_conv_and_matches_keras(crops):
    codec, images, targets = crops
    tf.keras.utils.set_random_seed(0)
    model = hourglass_hpm(num_keypoints=targets.shape[-1], **SMALL)  # default: scaled weights
    model.compile(tf.keras.optimizers.Adam(1e-3),
                  loss=tf.keras.losses.BinaryCrossentropy(from_logits=True))
    model.fit(images, targets, batch_size=8, epochs=4, verbose=0)  # real BatchNorm statistics

    flatbuffer = convert_to_lce(model)
    report = lce_report(model, flatbuffer)
    assert report["lce_bconv2d"] == report["quant_conv2d"] == 39
    assert report["not_binarised"] == []
    # alpha lives in the ops' multipliers: the same ops as the same weights made plain +-1
    plain = hourglass_hpm(num_keypoints=targets.shape[-1], weights="plain", **SMALL)
    plain.set_weights(model.get_weights())
    assert report["ops"] == lce_report(plain)["ops"]

    reference, converted = model(images, training=False).numpy(), run_lce(flatbuffer, images)
    parity = heatmap_parity(reference, converted, codec)
    chance = heatmap_parity(reference, np.roll(converted, 1, axis=0), codec)
    print("default hourglass (small preset), LCE vs Keras:", parity,
          "chance", chance["keypoint_agreement"])
    assert judge(parity, TOLERANCES["binary"]) == [], parity
    assert parity["keypoint_agreement"] >= 4 * chance["keypoint_agreement"], (parity, chance)


def test_two_stacks_convert_to_the_last_stacks_heatmaps():
    options = {**SMALL, "channels": 32, "stacks": 2}
    binary = hourglass_hpm(**options)
    report = lce_report(binary)
    assert report["lce_bconv2d"] == report["quant_conv2d"] == 2 * 39 - 2 * 3  # stem block once
    assert report["not_binarised"] == []

    # The wiring, exactly: the float twin (no signs, no ties) converted to one output, the
    # last stack's heatmaps.
    twin = hourglass_hpm(**options, policy=quant_policy().float_twin())
    x = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    flatbuffer = convert_to_lce(twin)
    outputs = io_details(flatbuffer)["outputs"]
    assert [o["shape"] for o in outputs] == [[1, 16, 16, 16]]
    first, last = (o.numpy() for o in stack_outputs(twin)(x, training=False))
    got = run_lce(flatbuffer, x)
    np.testing.assert_allclose(got, last, atol=1e-4 * np.ptp(last))
    assert not np.allclose(got, first, atol=1e-2 * np.ptp(last))
