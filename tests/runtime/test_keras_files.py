import numpy as np
import pytest
import tensorflow as tf

from tfpose.models import create
from tfpose.runtime.keras_files import load_keras_model, save_model_atomically


def tiny_model(seed=0):
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((8, 8, 3))
    return tf.keras.Model(inputs, tf.keras.layers.Conv2D(2, 3, padding="same")(inputs))


def test_atomic_writers_leave_only_the_target(tmp_path):
    model = tiny_model()
    save_model_atomically(model, tmp_path / "sub" / "m.keras")
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["m.keras"]
    reloaded = tf.keras.models.load_model(tmp_path / "sub" / "m.keras")
    np.testing.assert_array_equal(reloaded.get_weights()[0], model.get_weights()[0])


def test_fast_loader_equals_keras_load_model(tmp_path):
    model = create("bihrnet_w18", input_size=(64, 64), num_keypoints=4, width=8,
                   modules=(1, 1, 1), branch_blocks=1, stage1_blocks=1)
    model.save(tmp_path / "m.keras")
    fast = load_keras_model(tmp_path / "m.keras")
    slow = tf.keras.models.load_model(tmp_path / "m.keras", compile=False)
    assert [w.name for w in fast.weights] == [w.name for w in slow.weights]
    for a, b in zip(fast.get_weights(), slow.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    images = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    np.testing.assert_array_equal(fast(images, training=False), slow(images, training=False))
    model.save(tmp_path / "m.h5")
    assert len(load_keras_model(tmp_path / "m.h5").weights) == len(model.weights)


def test_a_bad_file_is_one_line_naming_it(tmp_path):
    from tfpose.errors import DataError
    from tfpose.runtime.keras_files import load_keras_file

    with pytest.raises(DataError, match="missing.keras: teacher file not found"):
        load_keras_file(tmp_path / "missing.keras", "teacher")
    (tmp_path / "broken.keras").write_bytes(b"not a zip archive")
    with pytest.raises(DataError, match="broken.keras: cannot load the model"):
        load_keras_file(tmp_path / "broken.keras")


def test_a_file_without_information_loads_with_none(tmp_path):
    from tfpose.runtime.keras_files import load_keras_file

    model = tiny_model()
    model.save(tmp_path / "plain.keras")
    loaded, info = load_keras_file(tmp_path / "plain.keras")
    assert info is None and len(loaded.weights) == len(model.weights)
