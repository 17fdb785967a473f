"""Conversion of float and binary models: quantisation modes, report, decoder, refusals, and
the conversion job end to end (tfpose convert)."""

import json

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tfpose.cli import main
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.codecs.model_info import read_tflite_info, topdown_info
from tfpose.export.convert import conversion_report, convert
from tfpose.export.lce import ConversionError
from tfpose.export.parity import TOLERANCES, judge
from tfpose.keypoints import COCO_17
from tfpose.layers.common import image_input
from tfpose.runtime.interpreter import LCEInterpreterRunner
from tfpose.runtime.keras_files import save_model_atomically

CODEC = HeatmapCodec(input_size=(64, 48), heatmap_size=(16, 12), sigma=1.5)
INFO = topdown_info(CODEC, COCO_17, "tiny")


def float_model(seed=0):
    tf.keras.utils.set_random_seed(seed)
    inputs, x = image_input((64, 48))
    x = tf.keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = tf.keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = tf.keras.layers.BatchNormalization()(x)
    x = tf.keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    return tf.keras.Model(inputs, tf.keras.layers.Conv2D(17, 1)(x), name="tiny")


def images(n=8, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, 64, 48, 3)).astype(np.float32)


def representative():
    return iter(images(16, seed=1))


@pytest.mark.parametrize("quantization, dtype, size_ratio", [
    ("fp32", "float32", 1.0), ("fp16", "float32", 0.5), ("int8", "uint8", 0.25)])
def test_float_model_quantisation(quantization, dtype, size_ratio):
    model = float_model()
    fp32 = convert(model, INFO).report["flatbuffer_bytes"]
    conversion = convert(model, INFO, quantization=quantization, representative=representative)
    report = conversion.report
    assert report["inputs"][0]["dtype"] == dtype and report["inputs"][0]["shape"] == [1, 64, 48, 3]
    assert report["outputs"][0]["dtype"] == "float32"  # int8 files dequantise their outputs
    assert report["binary_conv_share"] == 0.0 and report["ops"]["CONV_2D"] == 3
    assert report["flatbuffer_bytes"] <= fp32 * size_ratio * 1.5 + 4000
    if quantization == "int8":
        # Pixels 0-255 go in as they are: the calibrated input scale is about 1.
        assert report["inputs"][0]["scale"][0] == pytest.approx(1.0, rel=0.02)
    output = LCEInterpreterRunner(conversion.flatbuffer)(images())
    reference = model(images()).numpy()
    error = np.abs(output - reference).max() / np.ptp(reference)
    assert error < {"fp32": 1e-5, "fp16": 5e-3, "int8": 5e-2}[quantization]
    assert read_tflite_info(conversion.flatbuffer) == INFO


def large_depthwise_model():
    tf.keras.utils.set_random_seed(0)
    inputs, x = image_input((64, 48))
    x = tf.keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = tf.keras.layers.DepthwiseConv2D(7, padding="same", name="dw7")(x)
    x = tf.keras.layers.DepthwiseConv2D(3, padding="same", name="dw3")(x)
    return tf.keras.Model(inputs, tf.keras.layers.Conv2D(17, 1)(x), name="tiny")


def _depthwise_filter_types(flatbuffer):
    from tfpose.runtime.flatbuffer import operators

    return {int(graph.Tensors(op.Inputs(1)).ShapeAsNumpy()[1]): graph.Tensors(op.Inputs(1)).Type()
            for _, graph, op, name in operators(flatbuffer) if name == "DEPTHWISE_CONV_2D"}


def test_int8_keeps_large_depthwise_convs_float_unless_full_integer():
    """XNNPACK has no fast int8 kernel for depthwise kernels above 5x5 (module docstring of
    tfpose.export.convert): int8 files keep them float32; full_integer quantises them too."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = large_depthwise_model()
    mixed = convert(model, INFO, quantization="int8", representative=representative)
    full = convert(model, INFO, quantization="int8", representative=representative,
                   full_integer=True)
    assert _depthwise_filter_types(mixed.flatbuffer) == {7: schema.TensorType.FLOAT32,
                                                         3: schema.TensorType.INT8}
    assert _depthwise_filter_types(full.flatbuffer) == {7: schema.TensorType.INT8,
                                                        3: schema.TensorType.INT8}
    assert mixed.report["ops"]["DEQUANTIZE"] == full.report["ops"].get("DEQUANTIZE", 0) + 1
    reference = model(images()).numpy()
    for conversion in (mixed, full):
        report = conversion.report
        assert [report["inputs"][0]["dtype"], report["outputs"][0]["dtype"]] == ["uint8",
                                                                                 "float32"]
        assert report["inputs"][0]["scale"][0] == pytest.approx(1.0, rel=0.02)
        output = LCEInterpreterRunner(conversion.flatbuffer)(images())
        assert np.abs(output - reference).max() / np.ptp(reference) < 5e-2
        assert read_tflite_info(conversion.flatbuffer) == INFO


def test_decoder_in_the_graph_outputs_keypoints():
    conversion = convert(float_model(), INFO, decoder=True)
    assert conversion.report["outputs"][0]["shape"] == [1, 17, 3]
    assert read_tflite_info(conversion.flatbuffer).decoded
    output = LCEInterpreterRunner(conversion.flatbuffer)(images(2))
    np.testing.assert_allclose(output, conversion.keras_model(images(2)).numpy(), atol=1e-3)


def binary_model(input_quantizer="ste_sign"):
    inputs, x = image_input((64, 48))
    x = tf.keras.layers.Conv2D(32, 3, strides=4, padding="same")(x)
    x = tf.keras.layers.BatchNormalization()(x)
    x = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, use_bias=False,
                              input_quantizer=input_quantizer, kernel_quantizer="ste_sign",
                              kernel_constraint="weight_clip", name="binary_conv")(x)
    x = tf.keras.layers.BatchNormalization()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Conv2D(17, 1)(x), name="binary")


def test_binary_model_goes_through_lce():
    conversion = convert(binary_model(), INFO)
    report = conversion.report
    assert report["ops"]["LceBconv2d"] == 1 and report["folded_rprelu_shifts"] == 0
    assert report["binary_conv_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert report["converter"].startswith("larq-compute-engine")
    with pytest.raises(ConversionError, match="binary model.*fp16 and int8 are for float"):
        convert(binary_model(), INFO, quantization="int8", representative=representative)


def test_a_layer_meant_binary_that_stays_float_fails_naming_it():
    with pytest.raises(ConversionError, match="binary_conv: .*input quantizer"):
        convert(binary_model(input_quantizer="dorefa_quantizer"), INFO)


def test_refusals_are_named():
    with pytest.raises(ConversionError, match="representative dataset"):
        convert(float_model(), INFO, quantization="int8")
    with pytest.raises(ConversionError, match="needs float arithmetic"):
        convert(float_model(), INFO, quantization="int8", decoder=True,
                representative=representative)
    with pytest.raises(ConversionError, match="quantization must be one of"):
        convert(float_model(), INFO, quantization="int4")


def test_parity_judgement():
    assert judge({"keypoint_agreement": 0.995, "max_relative_error": 1e-6},
                 TOLERANCES["fp32"]) == []
    failures = judge({"confident_agreement": 0.95, "p99_relative_error": 0.2},
                     TOLERANCES["int8"])
    assert failures == ["p99_relative_error 0.2 (needs <= 0.05)"]
    assert judge({"keypoint_agreement": 0.2}, TOLERANCES["binary"]) == [
        "keypoint_agreement 0.2 (needs >= 0.25)"]


def test_a_file_beyond_tolerance_is_written_and_named(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(TOLERANCES, "fp32", {"keypoint_agreement": 1.01})  # unattainable
    model_path = save_model_atomically(float_model(), tmp_path / "model.keras", INFO)
    assert main(["convert", str(model_path)]) == 1
    err = capsys.readouterr().err
    assert "disagrees with the Keras model beyond the fp32 tolerance" in err
    assert "keypoint_agreement 1 (needs >= 1.01)" in err
    report = json.loads((tmp_path / "model.json").read_text())
    assert report["parity"]["failures"] and (tmp_path / "model.tflite").is_file()


def test_convert_command_writes_file_report_and_parity(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    model_path = save_model_atomically(float_model(), tmp_path / "model.keras", INFO)
    assert main(["convert", str(model_path), "--quantization", "fp16"]) == 0
    out = tmp_path / "model_fp16.tflite"
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["quantization"] == "fp16" and report["source"] == str(model_path)
    parity = report["parity"]
    assert parity["profile"] == "fp16" and parity["inputs"] == 32 and parity["failures"] == []
    assert "parity on 32 inputs (fp16)" in capsys.readouterr().out
    assert read_tflite_info(out.read_bytes()) == INFO
    model_path = save_model_atomically(large_depthwise_model(), tmp_path / "dw.keras", INFO)
    dequantize = {}
    for flags, full in (([], False), (["--full-integer"], True)):
        assert main(["convert", str(model_path), "--quantization", "int8", "--no-parity",
                     *flags]) == 0
        flatbuffer = (tmp_path / "dw_int8.tflite").read_bytes()
        assert json.loads((tmp_path / "dw_int8.json").read_text())["full_integer"] is full
        dequantize[full] = conversion_report(flatbuffer)["ops"]["DEQUANTIZE"]
    assert dequantize[False] == dequantize[True] + 1  # before the float 7x7 depthwise conv


def test_convert_command_errors_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TFPOSE_RUNS", str(tmp_path / "runs"))
    assert main(["convert"]) == 2
    err = capsys.readouterr().err
    assert "runs/bihrnet/model.keras: model file not found" in err
    assert "python training/train_bihrnet.py" in err
    (tmp_path / "broken.keras").write_bytes(b"\x00")
    assert main(["convert", str(tmp_path / "broken.keras")]) == 2
    assert "not a zip archive" in capsys.readouterr().err
    assert main(["convert", "no_such_model"]) == 2
    assert "neither a .keras file nor a zoo model" in capsys.readouterr().err


def test_stand_in_weights_keep_the_ops_a_trained_model_converts_to():
    """Zero shifts fold away in an untrained model; the stand-in weights keep their ops, and
    weights that already vary are left alone."""
    from tfpose.export.job import stand_in_weights
    from tfpose.export.lce import convert_to_lce
    from tfpose.layers.binary import LearnableBias, RPReLU

    def model():
        tf.keras.utils.set_random_seed(0)
        inputs, x = image_input((32, 32))
        x = tf.keras.layers.Conv2D(32, 3, padding="same")(x)
        y = LearnableBias()(x)
        y = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, use_bias=False,
                                  input_quantizer="ste_sign", kernel_quantizer="ste_sign",
                                  kernel_constraint="weight_clip")(y)
        y = tf.keras.layers.BatchNormalization()(y)
        return tf.keras.Model(inputs, RPReLU()(tf.keras.layers.Add()([x, y])))

    untrained, stand_in = model(), model()
    kernel = stand_in.layers[2].kernel.numpy()
    stand_in_weights(stand_in)
    np.testing.assert_array_equal(stand_in.layers[2].kernel.numpy(), kernel)
    assert all(np.ptp(w.numpy()) > 0 for w in stand_in.weights if w.shape.num_elements() > 1)
    assert all(w.numpy().min() > 0 for w in stand_in.weights if "moving_variance" in w.name)
    before = conversion_report(convert_to_lce(untrained))["ops"]
    after = conversion_report(convert_to_lce(stand_in))["ops"]
    # The learnable shift's ADD, the RPReLU's SUB and ADD: folded away (x + 0) when untrained.
    assert after["ADD"] == before["ADD"] + 2 and after["SUB"] == before["SUB"] + 1
