"""Where LCE (and xtcocotools) have no wheel, Linux ARM64: float models convert, run, predict and
benchmark with stock TensorFlow Lite; what needs LCE says so in one line and names the file.

LCE and xtcocotools are hidden from imports here (``sys.modules[name] = None``), as on a machine
where ``pip install tfpose`` left them out (setup.cfg's environment markers)."""

import sys

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tfpose.cli import main
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.codecs.model_info import topdown_info
from tfpose.errors import DataError, TfposeError
from tfpose.evaluation.crowdpose import evaluate_crowdpose
from tfpose.export.convert import convert
from tfpose.export.lce import ConversionError, convert_to_lce
from tfpose.keypoints import COCO_17
from tfpose.layers.common import image_input
from tfpose.runtime.interpreter import NO_LCE, file_kernels, lce_available, run_lce
from tfpose.runtime.keras_files import save_model_atomically
from tfpose.runtime.loading import load_model_file

CODEC = HeatmapCodec(input_size=(64, 48), heatmap_size=(16, 12))


def tiny_model(binary: bool) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(0)
    inputs, x = image_input(CODEC.input_size)
    x = tf.keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    if binary:
        x = lq.layers.QuantConv2D(32, 3, padding="same", use_bias=False,
                                  input_quantizer="ste_sign", kernel_quantizer="ste_sign",
                                  kernel_constraint="weight_clip")(x)
        x = tf.keras.layers.BatchNormalization()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Conv2D(17, 3, strides=2, padding="same")(x))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Written while LCE is still importable: a float .keras, its .tflite and a binary .tflite."""
    folder = tmp_path_factory.mktemp("no_lce")
    info = topdown_info(CODEC, COCO_17, "tiny")
    model = tiny_model(binary=False)
    keras = save_model_atomically(model, folder / "float.keras", info)
    binary = folder / "binary.tflite"
    binary.write_bytes(convert_to_lce(tiny_model(binary=True)))
    return keras, binary


@pytest.fixture
def no_lce(monkeypatch):
    names = [n for n in sys.modules if n.split(".")[0] in ("larq_compute_engine", "xtcocotools")]
    for name in {*names, "larq_compute_engine", "xtcocotools", "xtcocotools.coco",
                 "xtcocotools.cocoeval", "larq_compute_engine.tflite.python.interpreter"}:
        monkeypatch.setitem(sys.modules, name, None)
    assert not lce_available()


def test_float_models_convert_run_and_predict_with_stock_tflite(files, tmp_path, no_lce):
    keras, _ = files
    flatbuffer = tmp_path / "float.tflite"
    assert main(["convert", str(keras), "--out", str(flatbuffer)]) == 0  # parity check included
    assert "stock TFLite, no LCE" in file_kernels(flatbuffer.read_bytes())
    images = np.random.default_rng(0).uniform(0, 255, (3, 64, 48, 3)).astype(np.float32)
    stock = load_model_file(flatbuffer).run(images)[0]
    expected = load_model_file(keras).run(images)[0]
    np.testing.assert_allclose(stock, expected, atol=1e-4 * np.ptp(expected))
    image = np.random.default_rng(1).integers(0, 255, (90, 70, 3), dtype=np.uint8)
    (tmp_path / "in").mkdir()
    tf.keras.utils.save_img(tmp_path / "in" / "a.png", image)
    assert main(["predict", "--model", str(flatbuffer), str(tmp_path / "in"),
                 "--out", str(tmp_path / "out")]) == 0
    assert main(["benchmark", str(flatbuffer), "--runs", "3"]) == 0


def test_stock_and_lce_interpreters_agree(files, tmp_path):
    """The stock path gives what LCE's interpreter gives on the same float file."""
    keras, _ = files
    model = tf.keras.models.load_model(keras)
    flatbuffer = convert(model, topdown_info(CODEC, COCO_17, "tiny")).flatbuffer
    images = np.random.default_rng(2).uniform(0, 255, (2, 64, 48, 3)).astype(np.float32)
    with_lce = run_lce(flatbuffer, images)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "larq_compute_engine.tflite.python.interpreter", None)
        assert not lce_available()
        stock = run_lce(flatbuffer, images)
    np.testing.assert_allclose(stock, with_lce, rtol=1e-5, atol=1e-5)


def test_what_needs_lce_says_so_in_one_line(files, capsys, no_lce):
    _, binary = files
    with pytest.raises(DataError, match="no wheel for Linux ARM64") as error:
        load_model_file(binary)
    assert str(binary) in str(error.value) and "\n" not in str(error.value)
    assert main(["benchmark", str(binary)]) == 2
    assert "binary layers" in capsys.readouterr().err
    with pytest.raises(ConversionError, match="Convert binary models on Linux x86-64 or macOS"):
        convert_to_lce(tiny_model(binary=True))
    assert NO_LCE.count("\n") == 0


def test_crowdpose_ap_without_xtcocotools_names_the_extra(tmp_path, no_lce):
    with pytest.raises(TfposeError, match=r"pip install 'tfpose\[crowdpose\]'"):
        evaluate_crowdpose(tmp_path / "ann.json", [{"image_id": 1}])
