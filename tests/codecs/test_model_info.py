import zipfile

import numpy as np
import pytest
import tensorflow as tf

from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.codecs.grouping import GroupingConfig
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.codecs.model_info import (
    ENTRY,
    attach_to_keras,
    attach_to_tflite,
    bottomup_info,
    guess_info,
    read_keras_info,
    read_tflite_info,
    topdown_info,
)
from tfpose.errors import DataError
from tfpose.keypoints import COCO_17, CROWDPOSE_14, MPII_16
from tfpose.runtime.interpreter import run_lce
from tfpose.runtime.keras_files import load_keras_model, save_model_atomically

CODEC = HeatmapCodec(input_size=(64, 48), heatmap_size=(16, 12), sigma=1.5, output="sigmoid")


def tiny_model(outputs=(17,)):
    inputs = tf.keras.Input((64, 48, 3))
    x = tf.keras.layers.Conv2D(4, 3, strides=4, padding="same")(inputs)
    heads = [tf.keras.layers.Conv2D(c, 1)(x) for c in outputs]
    return tf.keras.Model(inputs, heads if len(heads) > 1 else heads[0])


def test_codecs_round_trip_through_json():
    info = topdown_info(CODEC, MPII_16, "hourglass_hpm")
    again = type(info).from_json(info.to_json())
    assert again == info and again.heatmap_codec() == CODEC
    assert again.keypoint_set is MPII_16 and again.input_size == (64, 48)
    codec = BottomUpCodec(input_size=(128, 128), grouping=GroupingConfig(joint_order=(1, 0)))
    info = bottomup_info(codec, CROWDPOSE_14)
    assert type(info).from_json(info.to_json()).bottomup_codec() == codec
    with pytest.raises(ValueError, match="no bottom-up codec"):
        topdown_info(CODEC, MPII_16).bottomup_codec()


def test_keras_archive_carries_the_info_and_still_loads(tmp_path):
    model = tiny_model()
    info = topdown_info(CODEC, COCO_17, "x")
    path = save_model_atomically(model, tmp_path / "m.keras", info)
    assert read_keras_info(path) == info
    np.testing.assert_array_equal(load_keras_model(path).get_weights()[0],
                                  model.get_weights()[0])
    assert tf.keras.models.load_model(path).output_shape == model.output_shape
    attach_to_keras(path, info.replace(model="y"))  # replaced, not duplicated
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist().count(ENTRY) == 1
    assert read_keras_info(path).model == "y"
    model.save(tmp_path / "plain.keras")
    assert read_keras_info(tmp_path / "plain.keras") is None
    (tmp_path / "bad.keras").write_bytes(b"nope")
    with pytest.raises(DataError, match="not a zip archive"):
        read_keras_info(tmp_path / "bad.keras")


def test_tflite_metadata_carries_the_info_and_still_runs():
    model = tiny_model()
    flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    info = topdown_info(CODEC, COCO_17)
    tagged = attach_to_tflite(attach_to_tflite(flatbuffer, info.replace(model="old")), info)
    assert read_tflite_info(tagged) == info and read_tflite_info(flatbuffer) is None
    image = np.random.default_rng(0).uniform(0, 255, (1, 64, 48, 3)).astype(np.float32)
    np.testing.assert_array_equal(run_lce(tagged, image), run_lce(flatbuffer, image))
    np.testing.assert_allclose(run_lce(tagged, image), model(image).numpy(), rtol=1e-5,
                               atol=1e-3)


def test_guess_from_shapes():
    info = guess_info(tiny_model())
    assert info.kind == "topdown" and info.keypoints == "coco"
    assert info.heatmap_codec().heatmap_size == (16, 12)
    inputs = tf.keras.Input((64, 64, 3))
    x4 = tf.keras.layers.Conv2D(28, 4, strides=4)(inputs)
    x2 = tf.keras.layers.Conv2D(14, 2, strides=2)(inputs)
    info = guess_info(tf.keras.Model(inputs, [x4, x2]))
    assert info.kind == "bottomup" and info.keypoints == "crowdpose"
    assert info.bottomup_codec().strides == (4, 2)
    with pytest.raises(DataError, match="5 keypoints"):
        guess_info(tiny_model((5,)), "odd.keras")
