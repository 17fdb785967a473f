"""Conversion of float and binary models: quantisation modes, report, decoder, refusals, and
the conversion job end to end (tfpose convert)."""

import json

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tfpose.cli import main
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.engine.checkpoints import save_model_atomically
from tfpose.export.convert import convert
from tfpose.export.lce import ConversionError, LCEInterpreterRunner
from tfpose.export.parity import TOLERANCES, judge
from tfpose.inference.model_info import read_tflite_info, topdown_info
from tfpose.keypoints import COCO_17
from tfpose.layers.common import image_input

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
    assert report["ops"]["LceBconv2d"] == 1
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
