"""Per-op host times (tfpose.op_profile, ``tfpose benchmark --profile``): the cut models compute
what the op computes, and the ops' times add up to the whole file's within 15%."""

import json

import numpy as np
import pytest
import tensorflow as tf
from larq_compute_engine.tflite.python.interpreter import Interpreter

from tfpose.cli import main
from tfpose.codecs.model_info import zoo_info
from tfpose.export.convert import convert
from tfpose.export.lce import convert_to_lce
from tfpose.models import create
from tfpose.op_profile import COPIES, cut_ops, profile
from tfpose.runtime.interpreter import host_interpreter

TOLERANCE = 0.15  # the bound on |sum of ops / whole - 1|
# The suite runs two test files at once, so a profile can catch the other worker's load in one
# part and not the other; a profiler that is really off misses on every attempt.
ATTEMPTS = 3


@pytest.fixture(scope="module")
def litepose_file(tmp_path_factory):
    model = create("litepose_xs", input_size=(192, 192))
    path = tmp_path_factory.mktemp("profile") / "litepose_xs.tflite"
    path.write_bytes(convert(model, zoo_info(model, "litepose_xs"), quantization="fp32").flatbuffer)
    return path


@pytest.fixture(scope="module")
def bihrnet_file(tmp_path_factory):
    model = create("bihrnet_w32", input_size=(128, 96), modules=(1, 1, 1), branch_blocks=2)
    path = tmp_path_factory.mktemp("profile") / "bihrnet.tflite"
    path.write_bytes(convert_to_lce(model))
    return path


@pytest.mark.parametrize("name, binary", [("litepose_file", False), ("bihrnet_file", True)])
def test_the_ops_add_up_to_the_whole_file(name, binary, request):
    flatbuffer = request.getfixturevalue(name).read_bytes()
    seen = []
    for _ in range(ATTEMPTS):
        found = profile(flatbuffer, host_interpreter, runs=7)  # as `tfpose benchmark` runs it
        seen.append((round(found.sum_ms, 2), round(found.whole_ms, 2)))
        if abs(found.sum_ms / found.whole_ms - 1) <= TOLERANCE:
            break
    else:
        pytest.fail(f"ops' sum vs whole file (ms), {ATTEMPTS} attempts: {seen}")
    split = found.split()
    if binary:
        assert found.by_type()["LceBconv2d"] == split["binary"] > split["float"] > 0
    else:
        assert split["binary"] == 0 and "DEPTHWISE_CONV_2D" in found.by_type()
    assert len(found.slowest()) == 10
    assert found.slowest()[0]["ms"] == max(op["ms"] for op in found.ops)


def test_a_cut_op_computes_what_it_computes_in_the_model():
    """The first convolution, cut out, gives the Keras layer's output on the same image; the
    zero pad before it is cut with it, and its copies leave the result alone."""
    inputs = tf.keras.Input((16, 16, 3))
    padded = tf.keras.layers.ZeroPadding2D(1)(inputs)
    conv = tf.keras.layers.Conv2D(8, 3, 2, name="conv")(padded)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(4)(conv))
    flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    ops = cut_ops(flatbuffer)
    assert [op.op for op in ops][:1] == ["CONV_2D"] and "PAD" not in [op.op for op in ops]
    assert ops[0].macs == 8 * 8 * 8 * 3 * 3 * 3
    image = np.random.default_rng(0).normal(size=(1, 16, 16, 3)).astype(np.float32)
    expected = tf.keras.Model(inputs, conv)(image).numpy()
    for cut, copies in ((ops[0].alone, 1), (ops[0].copies, COPIES)):
        output, *shapes = Interpreter(cut, num_threads=1).predict(image)  # the op's, SHAPEs'
        assert [list(shape) for shape in shapes] == [[1, 8, 8, 8]] * copies
        np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-5)


def test_benchmark_profiles_a_peers_file(tmp_path, capsys):
    """Any .tflite: here Keras' MobileNetV2 through the stock converter, no tfpose metadata."""
    mobilenet = tf.keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35,
                                                  weights=None, classes=10)
    path = tmp_path / "mobilenet.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(mobilenet).convert())
    assert main(["benchmark", str(path), "--runs", "5", "--profile", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["profile"]["CONV_2D"] > 0 and row["profile"]["DEPTHWISE_CONV_2D"] > 0
    detail = row["profile_detail"]
    assert detail["binary_ms"] == 0 and detail["float_ms"] == detail["sum_of_ops_ms"] > 0
    # The sum against the whole is checked above on files whose ops take long enough to time
    # while another test runs beside this one; this file's ops take microseconds.
    assert detail["whole_ms"] > 0 and len(detail["slowest"]) == 10
    assert main(["benchmark", str(path), "--runs", "3", "--profile"]) == 0
    printed = capsys.readouterr().out
    assert "mobilenet.tflite: ops sum to" in printed and "slowest ops" in printed
