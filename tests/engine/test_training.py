import json

import numpy as np
import pytest
import tensorflow as tf

from tfpose.config import TrainConfig
from tfpose.engine.callbacks import NonFiniteLoss
from tfpose.engine.optimizers import current_learning_rate, make_optimizer
from tfpose.engine.run import Run
from tfpose.engine.training import Validation, load_history, train_phase, without_autograph
from tfpose.losses.heatmap import KeypointMSE
from tfpose.runtime.keras_files import load_keras_model

STEPS = 3  # per epoch
BATCH = 2


def batches(num_batches, nan_at=None, seed=0):
    """``(image, heatmaps, weights)`` batches; batch ``nan_at`` has NaN targets."""
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(num_batches * BATCH, 8, 8, 3)).astype(np.float32)
    heatmaps = rng.uniform(size=(num_batches * BATCH, 8, 8, 2)).astype(np.float32)
    if nan_at is not None:
        heatmaps[nan_at * BATCH] = np.nan
    weights = np.ones((num_batches * BATCH, 2), np.float32)
    return tf.data.Dataset.from_tensor_slices((images, heatmaps, weights)).batch(BATCH)


def train_data(epochs, **kwargs):
    """The contract of train_phase: a resumed run skips the batches already trained on."""
    return lambda initial_epoch: batches(epochs * STEPS, **kwargs).skip(initial_epoch * STEPS)


def compiled_model(epochs, seed=0):
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((8, 8, 3))
    x = tf.keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Conv2D(2, 1)(x))
    config = TrainConfig(epochs=epochs, batch_size=BATCH, learning_rate=1e-2)
    model.compile(make_optimizer(config, epochs * STEPS), loss=KeypointMSE())
    return without_autograph(model)


def make_run(tmp_path, resume=False):
    return Run(out=tmp_path, strategy=tf.distribute.get_strategy(), resume=resume)


def mean_weight(model):
    return {"mean_weight": float(np.mean([np.abs(w).mean() for w in model.get_weights()]))}


def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(tmp_path):
    whole = compiled_model(epochs=2)
    done = train_phase(make_run(tmp_path / "whole"), "phase", whole, train_data(2), epochs=2,
                       steps_per_epoch=STEPS, verbose=0)
    assert [e["epoch"] for e in done.history] == [1, 2]

    # A run killed during epoch 2: the data fails after epoch 1's checkpoint was written.
    killed = compiled_model(epochs=2)
    def failing(initial_epoch):
        crash = batches(1).map(lambda x, y, w: (tf.debugging.check_numerics(x / 0.0, "x"), y, w))
        return train_data(2)(0).take(STEPS + 1).concatenate(crash)

    with pytest.raises(Exception):  # noqa: B017 (whatever a dying process raises)
        train_phase(make_run(tmp_path / "killed"), "phase", killed, failing, epochs=2,
                    steps_per_epoch=STEPS, verbose=0)
    assert (tmp_path / "killed" / "phase" / "checkpoints" / "ckpt-1.index").is_file()

    resumed = compiled_model(epochs=2, seed=7)  # a new process: other initial weights
    result = train_phase(make_run(tmp_path / "killed", resume=True), "phase", resumed,
                         train_data(2), epochs=2, steps_per_epoch=STEPS, verbose=0)
    assert result.epochs_trained == 1
    assert [e["epoch"] for e in result.history] == [1, 2]
    assert [e["step"] for e in result.history] == [STEPS, 2 * STEPS]
    assert int(resumed.optimizer.iterations.numpy()) == int(whole.optimizer.iterations.numpy())
    assert current_learning_rate(resumed.optimizer) == pytest.approx(
        current_learning_rate(whole.optimizer))
    for a, b in zip(whole.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert result.history[0]["loss"] == pytest.approx(done.history[0]["loss"], rel=1e-5)


def test_resuming_a_finished_phase_restores_without_training(tmp_path):
    model = compiled_model(epochs=1)
    train_phase(make_run(tmp_path), "phase", model, train_data(1), epochs=1,
                steps_per_epoch=STEPS, verbose=0)
    again = compiled_model(epochs=1, seed=5)
    result = train_phase(make_run(tmp_path, resume=True), "phase", again, train_data(1),
                         epochs=1, steps_per_epoch=STEPS, verbose=0)
    assert result.epochs_trained == 0 and len(result.history) == 1
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_new_run_starts_afresh(tmp_path):
    train_phase(make_run(tmp_path), "phase", compiled_model(2), train_data(2), epochs=2,
                steps_per_epoch=STEPS, verbose=0)
    result = train_phase(make_run(tmp_path), "phase", compiled_model(1), train_data(1),
                         epochs=1, steps_per_epoch=STEPS, verbose=0)
    assert result.epochs_trained == 1 and len(result.history) == 1
    names = sorted(p.name for p in (tmp_path / "phase" / "checkpoints").glob("*.index"))
    assert names == ["ckpt-1.index"]


def test_non_finite_loss_stops_naming_the_step_and_the_last_good_checkpoint(tmp_path):
    model = compiled_model(epochs=3)
    with pytest.raises(NonFiniteLoss) as error:
        train_phase(make_run(tmp_path), "teacher", model,
                    train_data(3, nan_at=STEPS + 1), epochs=3, steps_per_epoch=STEPS,
                    verbose=0)
    message = str(error.value)
    last = str(tmp_path / "teacher" / "checkpoints" / "ckpt-1")
    assert f"step {STEPS + 2}" in message and "epoch 2, batch 2" in message
    assert last in message and "--resume" in message and "teacher" in message
    assert not (tmp_path / "teacher" / "checkpoints" / "ckpt-2.index").exists()
    assert len(load_history(tmp_path / "teacher" / "history.json", 99)) == 1


def test_non_finite_loss_in_the_first_epoch_says_there_is_no_checkpoint(tmp_path):
    with pytest.raises(NonFiniteLoss, match="no checkpoint was written yet"):
        train_phase(make_run(tmp_path), "phase", compiled_model(1), train_data(1, nan_at=0),
                    epochs=1, steps_per_epoch=STEPS, verbose=0)


def test_validation_logs_metrics_and_keeps_the_best_model(tmp_path):
    scores = iter([0.2, 0.7, 0.4])
    weights_seen = []

    def evaluate(model):
        weights_seen.append(model.get_weights())
        return {"PCK": next(scores), "other": 1.0}

    model = compiled_model(epochs=3)
    result = train_phase(make_run(tmp_path), "phase", model, train_data(3), epochs=3,
                         steps_per_epoch=STEPS, validation=Validation(evaluate, "PCK"),
                         save_as=tmp_path / "final.keras", verbose=0)
    assert [e["val_PCK"] for e in result.history] == [0.2, 0.7, 0.4]
    saved = json.loads((tmp_path / "phase" / "history.json").read_text())
    assert saved == result.history
    best = load_keras_model(tmp_path / "phase" / "best.keras")
    for a, b in zip(weights_seen[1], best.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    final = load_keras_model(tmp_path / "final.keras")
    for a, b in zip(model.get_weights(), final.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert list((tmp_path / "phase" / "logs").rglob("*tfevents*")), "no TensorBoard logs"


def test_history_is_cut_back_to_the_restored_checkpoint(tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps([{"epoch": 1}, {"epoch": 2}, {"epoch": 3}]))
    assert [e["epoch"] for e in load_history(path, 2)] == [1, 2]
    assert load_history(tmp_path / "missing.json", 2) == []
