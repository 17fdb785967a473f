"""Checkpoint files of every kind become flat state dicts; bad files are one line naming them."""

import sys

import numpy as np
import pytest
import tensorflow as tf

from tfpose.errors import DataError
from tfpose.weights.reading import MissingExtra, read_state_dict

STATE = {"conv1.weight": np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2),
         "bn1.running_var": np.ones(2, np.float32)}


def _same(found, expected=STATE):
    assert found.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_array_equal(found[key], value)


def test_safetensors(tmp_path):
    from safetensors.numpy import save_file

    save_file(STATE, str(tmp_path / "model.safetensors"))
    _same(read_state_dict(tmp_path / "model.safetensors"))


def test_keras_h5_weights_are_keyed_layer_slash_variable(tmp_path):
    inputs = tf.keras.Input((4,))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(2, name="fc")(inputs))
    model.save_weights(tmp_path / "w.h5")
    found = read_state_dict(tmp_path / "w.h5")
    assert sorted(found) == ["fc/bias", "fc/kernel"] and found["fc/kernel"].shape == (4, 2)


def test_pytorch_wrappers_and_data_parallel_prefixes_come_off(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch checkpoints need the import extra")
    tensors = {f"module.{k}": torch.from_numpy(v) for k, v in STATE.items()}
    torch.save({"epoch": 3, "perf": 0.7, "optimizer": {"lr": 1e-3}, "state_dict": tensors},
               tmp_path / "checkpoint.pth.tar")
    _same(read_state_dict(tmp_path / "checkpoint.pth.tar"))
    torch.save({k[7:]: v for k, v in tensors.items()}, tmp_path / "plain.pth")
    _same(read_state_dict(tmp_path / "plain.pth"))


class Config:  # a class of the training code, pickled beside the weights
    pass


def test_other_pickled_objects_are_read_as_inert_stand_ins(tmp_path):
    """mmpose keeps numpy arrays in ``meta``, other code pickles its config: the weights come
    out, and no foreign code runs (the weights-only unpickler never calls Config)."""
    torch = pytest.importorskip("torch", reason="PyTorch checkpoints need the import extra")
    torch.save({"meta": {"sigmas": np.ones(17), "epoch": np.int64(210)}, "config": Config(),
                "state_dict": {k: torch.from_numpy(v) for k, v in STATE.items()}},
               tmp_path / "c.pth")
    _same(read_state_dict(tmp_path / "c.pth"))


@pytest.mark.parametrize("name, problem", [
    ("missing.pth", "checkpoint file not found"),
    ("damaged.pth", "not a readable PyTorch checkpoint"),
    ("damaged.safetensors", "not a readable safetensors file"),
    ("damaged.h5", "not a readable HDF5 file"),
    ("weights.npz", "unknown checkpoint format")])
def test_bad_files_are_one_line_naming_the_file(tmp_path, name, problem):
    pytest.importorskip("torch", reason="PyTorch checkpoints need the import extra")
    path = tmp_path / name
    if name != "missing.pth":
        path.write_bytes(b"\x00not a checkpoint at all" * 10)
    with pytest.raises(DataError) as caught:
        read_state_dict(path)
    assert str(caught.value).startswith(f"{path}: {problem}")
    assert "\n" not in str(caught.value)


def test_without_pytorch_the_message_says_how_to_get_it(tmp_path, monkeypatch):
    (tmp_path / "a.pth").write_bytes(b"anything")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(MissingExtra, match=r'a\.pth: reading a PyTorch checkpoint needs '
                                           r'PyTorch: pip install "tfpose\[import\]"'):
        read_state_dict(tmp_path / "a.pth")
