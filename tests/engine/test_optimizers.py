import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tfpose.config import TrainConfig
from tfpose.engine.optimizers import (
    current_learning_rate,
    learning_rate_schedule,
    make_optimizer,
    optimizer_steps,
)
from tfpose.engine.run import Run
from tfpose.engine.training import train_phase, without_autograph


def test_cosine_schedule_runs_from_peak_to_its_floor():
    config = TrainConfig(learning_rate=1e-3, final_lr_fraction=0.01)
    schedule = learning_rate_schedule(config, total_steps=100)
    assert float(schedule(0)) == pytest.approx(1e-3)
    assert float(schedule(50)) == pytest.approx(0.5 * (1e-3 + 1e-5), rel=1e-4)
    assert float(schedule(100)) == pytest.approx(1e-5)
    warm = learning_rate_schedule(TrainConfig(learning_rate=1e-3, warmup_steps=10), 110)
    assert float(warm(0)) == pytest.approx(0.0) and float(warm(10)) == pytest.approx(1e-3)
    assert learning_rate_schedule(TrainConfig(schedule="constant"), 10) == 1e-3


def binary_model():
    inputs = tf.keras.Input((8, 8, 4))
    x = lq.layers.QuantConv2D(8, 3, padding="same", input_quantizer="ste_sign",
                              kernel_quantizer="ste_sign", kernel_constraint="weight_clip",
                              use_bias=False)(inputs)
    x = tf.keras.layers.BatchNormalization()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Conv2D(2, 1)(x))


def data(initial_epoch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 8, 8, 4)).astype(np.float32)
    y = rng.normal(size=(8, 8, 8, 2)).astype(np.float32)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(2).repeat()


def compiled(seed):
    tf.keras.utils.set_random_seed(seed)
    model = binary_model()
    config = TrainConfig(optimizer="bop", learning_rate=1e-2, epochs=2)
    model.compile(make_optimizer(config, total_steps=8), loss="mse")
    return without_autograph(model)


def test_bop_flips_binary_kernels_adam_trains_the_rest_and_both_resume(tmp_path):
    model = compiled(0)
    assert isinstance(model.optimizer, lq.optimizers.CaseOptimizer)
    kernel, *_ = model.layers[1].weights
    kernel_before = kernel.numpy().copy()
    head_before = model.layers[-1].kernel.numpy().copy()
    run = Run(out=tmp_path, strategy=tf.distribute.get_strategy())
    train_phase(run, "phase", model, data, epochs=1, steps_per_epoch=4, verbose=0)
    # Bop keeps binary kernels at +-1 and flips signs; Adam moved the real-valued head.
    np.testing.assert_array_equal(np.abs(kernel.numpy()), 1.0)
    assert (np.sign(kernel.numpy()) != np.sign(kernel_before)).any()
    assert not np.array_equal(head_before, model.layers[-1].kernel.numpy())
    assert current_learning_rate(model.optimizer) < 1e-2  # cosine: past its peak

    resumed = compiled(1)
    result = train_phase(Run(out=tmp_path, strategy=tf.distribute.get_strategy(), resume=True),
                         "phase", resumed, data, epochs=2, steps_per_epoch=4, verbose=0)
    assert [e["step"] for e in result.history] == [4, 8]
    assert optimizer_steps(resumed.optimizer) == 8


def test_step_schedule_drops_at_the_start_of_each_listed_epoch():
    """LitePose's recipe: 4e-3, x0.1 at epochs 350 and 480 of 500, as PyTorch's MultiStepLR
    stepped after every epoch (epoch e trains at 4e-3 x 0.1^(milestones <= e))."""
    config = TrainConfig(learning_rate=4e-3, epochs=500, schedule="step", lr_steps=(350, 480))
    steps_per_epoch = 7
    schedule = learning_rate_schedule(config, total_steps=500 * steps_per_epoch)

    def rate(epoch, step_in_epoch=0):
        return float(schedule(epoch * steps_per_epoch + step_in_epoch))

    assert rate(0) == pytest.approx(4e-3) and rate(349, 6) == pytest.approx(4e-3)
    assert rate(350) == pytest.approx(4e-4) and rate(479, 6) == pytest.approx(4e-4)
    assert rate(480) == pytest.approx(4e-5) and rate(499, 6) == pytest.approx(4e-5)
    assert rate(600) == pytest.approx(4e-5)  # past the end: the last rate

    # One step per epoch: the drop comes exactly at the listed epoch's step.
    one = learning_rate_schedule(TrainConfig(learning_rate=1.0, epochs=4, schedule="step",
                                             lr_steps=(1, 3), lr_step_factor=0.5), 4)
    assert [float(one(s)) for s in range(4)] == [1.0, 0.5, 0.5, 0.25]


def test_step_schedule_reaches_the_optimiser_and_its_logged_rate():
    config = TrainConfig(learning_rate=1e-2, epochs=2, schedule="step", lr_steps=(1,))
    model = binary_model()
    model.compile(make_optimizer(config, total_steps=8), loss="mse")
    model.fit(data(0), epochs=1, steps_per_epoch=4, verbose=0)
    assert current_learning_rate(model.optimizer) == pytest.approx(1e-3)  # epoch 1 starts


@pytest.mark.parametrize("kwargs, message", [
    (dict(schedule="step"), "increasing epochs >= 1 in lr_steps"),
    (dict(schedule="step", lr_steps=(5, 3)), "increasing epochs"),
    (dict(schedule="step", lr_steps=(0,)), "increasing epochs >= 1"),
    (dict(schedule="step", lr_steps=(3,), lr_step_factor=2.0), "lr_step_factor in \\(0, 1\\]"),
    (dict(schedule="step", lr_steps=(3,), warmup_steps=5), "no warm-up"),
    (dict(lr_steps=(3,)), "lr_steps are for the step schedule, not 'cosine'"),
])
def test_step_schedule_settings_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)
