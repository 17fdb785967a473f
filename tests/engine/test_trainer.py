"""WrapperTrainer on its own: a tiny dense model with an MSE + MAE loss of the trainer's."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose.engine.trainer import WrapperTrainer


class MSETrainer(WrapperTrainer):
    """Minimises the per-example MSE; logs it as ``loss`` and the MAE beside it."""

    def compile(self, optimizer="sgd", **kwargs):
        self.reject_keras_loss_args(kwargs, "the loss is the MSE")
        super().compile(optimizer, metric_names=["loss", "mae"], **kwargs)

    def example_terms(self, x, y, y_pred, sample_weight):
        error = tf.cast(y_pred, tf.float32) - tf.cast(y, tf.float32)
        weight = 1.0 if sample_weight is None else tf.cast(sample_weight, tf.float32)
        return {"loss": weight * tf.reduce_mean(tf.square(error), axis=-1),
                "mae": weight * tf.reduce_mean(tf.abs(error), axis=-1)}


class NamedTrainer(MSETrainer):
    wrapped_attribute = "net"
    instance_name = "wrapper"


def dense(seed=0, regularized=False):
    tf.keras.utils.set_random_seed(seed)
    regularizer = tf.keras.regularizers.l2(0.1) if regularized else None
    inputs = tf.keras.Input((3,))
    outputs = tf.keras.layers.Dense(2, kernel_regularizer=regularizer, name="dense")(inputs)
    return tf.keras.Model(inputs, outputs, name="net")


def data(seed=0, n=8):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 3)).astype(np.float32),
            rng.normal(size=(n, 2)).astype(np.float32))


def numpy_terms(model, x, y):
    error = model(x, training=False).numpy() - y
    return {"loss": (error ** 2).mean(axis=-1), "mae": np.abs(error).mean(axis=-1)}


@pytest.mark.parametrize("run_eagerly", [True, False])
def test_fit_logs_the_metric_names_and_trains_the_wrapped_model(run_eagerly):
    model = dense()
    before = model.get_weights()
    trainer = MSETrainer(model, name="mse_trainer")
    trainer.compile(tf.keras.optimizers.SGD(0.1), run_eagerly=run_eagerly)
    x, y = data()
    history = trainer.fit(x, y, batch_size=4, epochs=3, validation_data=data(1),
                          verbose=0).history
    assert set(history) == {"loss", "mae", "val_loss", "val_mae"}
    assert history["loss"][-1] < history["loss"][0]
    assert not np.allclose(model.get_weights()[0], before[0])
    assert [metric.name for metric in trainer.metrics] == ["loss", "mae"]


def test_evaluate_gives_the_means_of_this_data_only():
    # The trackers are Keras's metrics, so each evaluate starts from zero.
    model = dense()
    trainer = MSETrainer(model, name="mse_trainer")
    trainer.compile()
    trainer.evaluate(*data(0), batch_size=4, verbose=0)
    x, y = data(1)
    logs = trainer.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    expected = {name: values.mean() for name, values in numpy_terms(model, x, y).items()}
    assert logs == pytest.approx(expected, rel=1e-5)
    weighted = trainer.evaluate(x, y, sample_weight=np.zeros(len(x)), batch_size=4, verbose=0,
                                return_dict=True)
    assert weighted == {"loss": 0.0, "mae": 0.0}  # the sample weights reach example_terms


def test_compute_loss_adds_the_wrapped_models_regularisation():
    model = dense(regularized=True)
    trainer = MSETrainer(model, name="mse_trainer")
    trainer.compile()
    x, y = data()
    loss = trainer.compute_loss(x, y, model(x, training=False)).numpy()
    regularization = 0.1 * np.sum(model.get_layer("dense").kernel.numpy() ** 2)
    mse = numpy_terms(model, x, y)["loss"]
    assert loss == pytest.approx(mse.mean() + regularization, rel=1e-5)
    logged = trainer.metrics[0].result().numpy()
    assert logged == pytest.approx(mse.mean() + regularization, rel=1e-5)


class PairTrainer(MSETrainer):
    """Also holds a trainable model that the loss uses: the step must leave it alone."""

    def __init__(self, model, other, **kwargs):
        super().__init__(model, name="pair", **kwargs)
        self.other = other

    def example_terms(self, x, y, y_pred, sample_weight):
        return super().example_terms(x, self.other(x), y_pred, sample_weight)


def test_train_step_updates_only_the_wrapped_model():
    model, other = dense(0), dense(1)
    other_before = other.get_weights()
    trainer = PairTrainer(model, other)
    trainer.compile(tf.keras.optimizers.SGD(0.1))
    model_before = model.get_weights()
    trainer.fit(*data(), batch_size=4, epochs=1, verbose=0)
    for before, after in zip(other_before, other.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert not np.allclose(model.get_weights()[0], model_before[0])


def test_call_and_predict_delegate_to_the_wrapped_model():
    model = dense()
    trainer = MSETrainer(model, name="mse_trainer")
    trainer.compile()
    x, _ = data()
    expected = model(x, training=False).numpy()
    np.testing.assert_allclose(trainer(x).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(trainer({"image": x, "other": x[:, :1]}).numpy(), expected,
                               rtol=1e-6)
    np.testing.assert_allclose(trainer.predict(x, verbose=0), expected, rtol=1e-6)
    assert trainer.wrapped is model and trainer.model is model


def test_save_raises_naming_the_model_to_save(tmp_path):
    trainer = MSETrainer(dense(), name="mse_trainer")
    with pytest.raises(NotImplementedError, match=r"a MSETrainer is a training wrapper: save the "
                       r"deployable model with trainer\.model\.save\(path\), or checkpoint "
                       r"training with trainer\.save_weights\(\)"):
        trainer.save(tmp_path / "trainer.keras")
    with pytest.raises(NotImplementedError, match=r"not serialisable: save trainer\.model$"):
        trainer.get_config()
    named = NamedTrainer(dense(), name="named")
    with pytest.raises(NotImplementedError, match=r"wrapper\.net\.save\(path\).*"
                       r"wrapper\.save_weights\(\)"):
        named.save(tmp_path / "named.keras")


def test_weights_checkpoint_under_the_wrapped_attribute(tmp_path):
    model = dense(0)
    trainer = NamedTrainer(model, name="named")
    assert trainer.net is model and trainer.wrapped is model
    trainer.save_weights(str(tmp_path / "ckpt"))
    keys = [name for name, _ in tf.train.list_variables(str(tmp_path / "ckpt"))]
    assert any(key.startswith("net/") for key in keys), keys
    restored = NamedTrainer(dense(1), name="named")
    restored.load_weights(str(tmp_path / "ckpt")).assert_existing_objects_matched()
    for want, got in zip(model.get_weights(), restored.net.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_misuse_is_named():
    trainer = MSETrainer(dense(), name="mse_trainer")
    x, y = data()
    with pytest.raises(RuntimeError, match="compile the MSETrainer before training"):
        trainer.compute_loss(x, y, y)
    with pytest.raises(ValueError, match=r"MSETrainer\.compile does not take \['loss', "
                       r"'metrics'\]: the loss is the MSE"):
        trainer.compile(loss="mse", metrics=["mae"])
    with pytest.raises(ValueError, match="must hold 'loss'"):
        WrapperTrainer.compile(trainer, "sgd", metric_names=["mae", "mae"])
    with pytest.raises(NotImplementedError, match="example_terms"):
        WrapperTrainer(dense(), name="bare").example_terms(x, y, y, None)
