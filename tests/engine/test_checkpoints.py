import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfpose.engine.checkpoints import RunCheckpoint
from tfpose.engine.optimizers import build_optimizer_state

REPO = Path(__file__).resolve().parents[2]


def tiny_model(seed=0):
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((8, 8, 3))
    outputs = tf.keras.layers.Conv2D(2, 3, padding="same")(inputs)
    model = tf.keras.Model(inputs, outputs)
    model.compile(tf.keras.optimizers.Adam(1e-2), loss="mse")
    return model


def train_a_little(model, steps=3):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2 * steps, 8, 8, 3)).astype(np.float32)
    y = rng.normal(size=(2 * steps, 8, 8, 2)).astype(np.float32)
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)


def optimizer_state(model):
    return [v.numpy() for v in model.optimizer.variables]


def test_restore_brings_back_weights_optimizer_state_and_epoch(tmp_path):
    model = tiny_model()
    train_a_little(model)
    saved = RunCheckpoint(tmp_path, model).save(epoch=1)
    assert Path(saved).name == "ckpt-1"

    fresh = tiny_model(seed=1)
    build_optimizer_state(fresh)
    assert RunCheckpoint(tmp_path, fresh).restore_latest() == 1
    for a, b in zip(model.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(fresh.optimizer.iterations.numpy()) == 3
    # Adam's moments came back too (not zeros): the next step equals the uninterrupted one.
    for a, b in zip(optimizer_state(model), optimizer_state(fresh), strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(np.abs(v).sum() > 0 for v in optimizer_state(fresh)[1:])


def test_no_checkpoint_means_epoch_zero(tmp_path):
    checkpoint = RunCheckpoint(tmp_path / "none", tiny_model())
    assert checkpoint.latest is None
    assert checkpoint.restore_latest() == 0


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    RunCheckpoint(tmp_path, tiny_model()).save(1)
    inputs = tf.keras.Input((8, 8, 3))
    other = tf.keras.Model(inputs, tf.keras.layers.Conv2D(5, 1)(inputs))
    other.compile("adam", loss="mse")
    with pytest.raises((AssertionError, ValueError)):
        RunCheckpoint(tmp_path, other).restore_latest()


def test_a_half_written_checkpoint_is_ignored(tmp_path):
    """What a kill in the middle of writing checkpoint 2 leaves: partial data files and the
    temporary folder, but a state file still naming checkpoint 1."""
    model = tiny_model()
    train_a_little(model)
    checkpoint = RunCheckpoint(tmp_path, model)
    checkpoint.save(1)
    expected = model.get_weights()
    (tmp_path / "ckpt-2.index").write_bytes(b"\x00garbage")
    data = next(tmp_path.glob("ckpt-1.data-*")).read_bytes()
    (tmp_path / "ckpt-2.data-00000-of-00001").write_bytes(data[: len(data) // 2])
    (tmp_path / "ckpt-2_temp").mkdir()
    (tmp_path / "ckpt-2_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"x")

    fresh = tiny_model(seed=3)
    build_optimizer_state(fresh)
    restored = RunCheckpoint(tmp_path, fresh)
    assert restored.latest.endswith("ckpt-1")
    assert restored.restore_latest() == 1
    for a, b in zip(expected, fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


# A process that checkpoints a 64 MB model over and over; every variable holds the epoch it
# was saved at, so a restored checkpoint is consistent iff all its values equal its epoch.
SAVER = """
import sys
import tfpose
import tensorflow as tf
from tfpose.engine.checkpoints import RunCheckpoint
inputs = tf.keras.Input((2048,))
model = tf.keras.Model(inputs, tf.keras.layers.Dense(8192)(inputs))
model.compile("sgd", loss="mse")
checkpoint = RunCheckpoint(sys.argv[1], model)
for epoch in range(1, 1000):
    for variable in model.weights:
        variable.assign(tf.fill(variable.shape, float(epoch)))
    checkpoint.save(epoch)
    print(epoch, flush=True)
"""


def restore_big(directory):
    inputs = tf.keras.Input((2048,))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(8192)(inputs))
    model.compile("sgd", loss="mse")
    epoch = RunCheckpoint(directory, model).restore_latest()
    return epoch, model


def test_killing_the_process_while_it_saves_leaves_a_loadable_checkpoint(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for delay in (0.0, 0.07, 0.15):
        directory = tmp_path / f"kill_{delay}"
        process = subprocess.Popen([sys.executable, "-c", SAVER, str(directory)], cwd=REPO,
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   text=True)
        try:
            assert process.stdout.readline().strip() == "1"  # one checkpoint is complete
            time.sleep(delay)  # then kill it at some point of a later save
            process.send_signal(signal.SIGKILL)
        finally:
            process.kill()
            process.wait(timeout=30)
        epoch, model = restore_big(directory)
        assert epoch >= 1
        for variable in model.weights:
            assert np.all(variable.numpy() == epoch), f"checkpoint {epoch} is inconsistent"
