import numpy as np
import pytest
import tensorflow as tf

from tfpose.losses.heatmap import (
    AdaptiveWingLoss,
    KeypointMSE,
    RegressiveCrossEntropy,
    SigmoidCrossEntropy,
)

SHAPE = (2, 6, 5, 3)  # B, H, W, K


# ---- independent numpy evaluations of the formulas -------------------------------------------
def awing_np(y, p, alpha=2.1, omega=14.0, epsilon=1.0, theta=0.5):
    delta = np.abs(y - p)
    power = alpha - y
    near = omega * np.log(1 + (delta / epsilon) ** power)
    a = omega * (1 / (1 + (theta / epsilon) ** power)) * power \
        * (theta / epsilon) ** (power - 1) * (1 / epsilon)
    c = theta * a - omega * np.log(1 + (theta / epsilon) ** power)
    return np.where(delta < theta, near, a * delta - c)


def mse_np(y, p):
    return (p - y) ** 2


def sigmoid_ce_np(y, z):
    s = 1 / (1 + np.exp(-z))
    return -(y * np.log(s) + (1 - y) * np.log(1 - s))


def entropy_np(y):
    return -(y * np.log(y) + (1 - y) * np.log(1 - y))


def reduce_np(pixel_losses, weights=None):
    per_keypoint = pixel_losses.mean(axis=(1, 2))  # [B, K]
    if weights is not None:
        per_keypoint = per_keypoint * weights
    return per_keypoint.mean()


def random_case(seed=0, noise=0.6):
    rng = np.random.default_rng(seed)
    y = rng.uniform(0.01, 0.99, SHAPE)
    p = y + rng.normal(0, noise, SHAPE)
    w = rng.integers(0, 2, SHAPE[::3]).astype(np.float64)
    return y, p, w


CASES = [
    (AdaptiveWingLoss(), awing_np),
    (AdaptiveWingLoss(alpha=2.5, omega=10, epsilon=0.5, theta=0.3),
     lambda y, p: awing_np(y, p, 2.5, 10, 0.5, 0.3)),
    (KeypointMSE(), mse_np),
    (SigmoidCrossEntropy(), sigmoid_ce_np),
    (RegressiveCrossEntropy(), sigmoid_ce_np),
    (SigmoidCrossEntropy(subtract_target_entropy=True),
     lambda y, z: sigmoid_ce_np(y, z) - entropy_np(y)),
]
IDS = ["awing", "awing_custom", "mse", "sce", "rce", "sce_minus_entropy"]


@pytest.mark.parametrize("loss, reference", CASES, ids=IDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_numpy_formula(loss, reference, weighted):
    y, p, w = random_case()
    weights = w if weighted else None
    expected = reduce_np(reference(y, p), weights)
    got = loss(y.astype(np.float32), p.astype(np.float32), sample_weight=weights)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_awing_case_exercises_both_branches():
    y, p, _ = random_case()
    delta = np.abs(y - p)
    assert (delta < 0.5).any() and (delta >= 0.5).any()


@pytest.mark.parametrize("loss, reference", CASES, ids=IDS)
def test_zero_weight_removes_a_keypoint(loss, reference):
    y, p, _ = random_case(1)
    weights = np.ones(SHAPE[::3])
    weights[0, 1] = 0.0
    changed = p.copy()
    changed[0, ..., 1] += 3.0
    before = loss(y, p, sample_weight=weights).numpy()
    after = loss(y, changed, sample_weight=weights).numpy()
    assert after == pytest.approx(before, rel=1e-6)
    assert loss(y, changed).numpy() != pytest.approx(loss(y, p).numpy(), rel=1e-3)


@pytest.mark.parametrize("loss, reference", CASES, ids=IDS)
def test_per_example_weights(loss, reference):
    y, p, _ = random_case(2)
    example_weights = np.array([0.0, 1.0])
    expected = reduce_np(reference(y, p), example_weights[:, None])
    got = loss(y, p, sample_weight=example_weights).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_mse_matches_keras_mse_without_weights():
    y, p, _ = random_case(3)
    keras_mse = tf.keras.losses.MeanSquaredError()(y, p).numpy()
    assert KeypointMSE()(y, p).numpy() == pytest.approx(keras_mse, rel=1e-5)


# ---- AWing properties ----------------------------------------------------------------------
def test_awing_is_zero_at_a_perfect_prediction():
    y, _, w = random_case(4)
    assert AdaptiveWingLoss()(y, y, sample_weight=w).numpy() == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("target", [0.0, 0.3, 0.7, 1.0])
def test_awing_branches_meet_with_equal_value_and_slope(target):
    loss = AdaptiveWingLoss()
    step = 1e-7
    errors = tf.constant([loss.theta - step, loss.theta + step], tf.float64)
    y = tf.fill([2], tf.constant(target, tf.float64))
    with tf.GradientTape() as tape:
        prediction = y + errors
        tape.watch(prediction)
        values = loss.pixel_loss(y, prediction)
    slopes = tape.gradient(values, prediction).numpy()
    values = values.numpy()
    assert abs(values[1] - values[0]) < 10 * step * abs(slopes[0])  # no jump at theta
    assert slopes[1] == pytest.approx(slopes[0], rel=1e-5)  # no kink at theta
    assert values[0] == pytest.approx(awing_np(target, target + loss.theta - step), rel=1e-9)


def test_awing_has_a_stronger_gradient_than_mse_for_small_foreground_errors():
    y = tf.constant(np.full((1, 1, 1, 1), 0.9), tf.float32)
    prediction = tf.Variable(np.full((1, 1, 1, 1), 0.88), dtype=tf.float32)
    gradients = {}
    for loss in (AdaptiveWingLoss(), KeypointMSE()):
        with tf.GradientTape() as tape:
            value = loss(y, prediction)
        gradients[loss.name] = abs(float(tape.gradient(value, prediction)[0, 0, 0, 0]))
    assert gradients["awing"] > 10 * gradients["keypoint_mse"]


def test_awing_exponent_uses_the_target_not_the_error():
    # Same error, different targets: the near branch must differ through alpha - y.
    loss = AdaptiveWingLoss()
    y = tf.constant([0.0, 1.0], tf.float64)
    values = loss.pixel_loss(y, y + 0.2).numpy()
    expected = [14 * np.log(1 + 0.2 ** 2.1), 14 * np.log(1 + 0.2 ** 1.1)]
    np.testing.assert_allclose(values, expected, rtol=1e-12)


def test_awing_gradient_is_finite_at_zero_error():
    y = tf.constant(np.linspace(0, 1, 6).reshape(1, 2, 3, 1), tf.float32)
    prediction = tf.Variable(y)
    with tf.GradientTape() as tape:
        value = AdaptiveWingLoss()(y, prediction)
    assert np.isfinite(tape.gradient(value, prediction).numpy()).all()


# ---- sigmoid / regressive cross-entropy ----------------------------------------------------
@pytest.mark.parametrize("target", [0.05, 0.5, 0.9])
def test_cross_entropy_is_smallest_where_sigmoid_equals_the_target(target):
    loss = SigmoidCrossEntropy()
    logits = np.linspace(-6, 6, 1201)
    y = np.full((1, 1, logits.size, 1), target)
    values = loss.pixel_loss(tf.constant(y), tf.constant(logits.reshape(y.shape))).numpy().ravel()
    best = logits[np.argmin(values)]
    assert 1 / (1 + np.exp(-best)) == pytest.approx(target, abs=0.01)
    assert values.min() == pytest.approx(entropy_np(target), rel=1e-4)  # the minimum is not 0


def test_subtracting_the_entropy_gives_zero_at_the_optimum_and_the_same_gradient():
    y = tf.constant(np.array([0.1, 0.4, 0.8]).reshape(1, 1, 3, 1), tf.float32)
    optimum = tf.math.log(y / (1 - y))
    relative = SigmoidCrossEntropy(subtract_target_entropy=True)
    assert relative(y, optimum).numpy() == pytest.approx(0.0, abs=1e-6)
    logits = tf.Variable(tf.zeros_like(y))
    grads = []
    for loss in (SigmoidCrossEntropy(), relative):
        with tf.GradientTape() as tape:
            value = loss(y, logits)
        grads.append(tape.gradient(value, logits).numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


def test_rce_is_the_same_loss_as_sigmoid_ce_under_its_own_name():
    y, z, w = random_case(5, noise=3.0)
    rce, sce = RegressiveCrossEntropy(), SigmoidCrossEntropy()
    assert isinstance(rce, SigmoidCrossEntropy)
    assert rce(y, z, sample_weight=w).numpy() == sce(y, z, sample_weight=w).numpy()
    assert (rce.name, sce.name) == ("rce", "sigmoid_ce")
    names = {tf.keras.utils.get_registered_name(cls) for cls in (type(rce), type(sce))}
    assert names == {"tfpose>RegressiveCrossEntropy", "tfpose>SigmoidCrossEntropy"}


# ---- serialisation and errors --------------------------------------------------------------
@pytest.mark.parametrize("loss, reference", CASES, ids=IDS)
def test_serialisation_round_trip(loss, reference):
    y, p, w = random_case(6)
    for restored in (tf.keras.losses.get(tf.keras.losses.serialize(loss)),
                     type(loss).from_config(loss.get_config())):
        assert type(restored) is type(loss)
        assert restored.get_config() == loss.get_config()
        assert restored(y, p, sample_weight=w).numpy() == loss(y, p, sample_weight=w).numpy()


def test_registered_name_resolves():
    assert isinstance(tf.keras.losses.get("tfpose>AdaptiveWingLoss"), AdaptiveWingLoss)


@pytest.mark.parametrize("y_shape, p_shape", [
    ((2, 6, 5), (2, 6, 5)),
    ((2, 6, 5, 3), (2, 6, 5, 4)),
    ((2, 6, 5, 3), (2, 5, 5, 3)),
])
def test_bad_shapes_are_named(y_shape, p_shape):
    with pytest.raises(ValueError, match=r"\[B, H, W, K\]"):
        KeypointMSE()(np.zeros(y_shape), np.zeros(p_shape))


@pytest.mark.parametrize("kwargs, field", [
    ({"alpha": 1.0}, "alpha"), ({"omega": 0}, "omega"), ({"epsilon": -1}, "epsilon"),
    ({"theta": 0}, "theta"),
])
def test_bad_awing_constants_are_named(kwargs, field):
    with pytest.raises(ValueError, match=field):
        AdaptiveWingLoss(**kwargs)


def test_keras_fit_and_evaluate_take_target_weights_as_sample_weight():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, 6, 5, 2)).astype(np.float32)
    y, _, _ = random_case(8)
    y = np.concatenate([y, y]).astype(np.float32)
    w = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 1], [0, 0, 1]], np.float32)
    model = tf.keras.Sequential([tf.keras.Input((6, 5, 2)), tf.keras.layers.Conv2D(3, 1)])
    model.compile("sgd", loss=AdaptiveWingLoss())
    dataset = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(4)
    evaluated = model.evaluate(dataset, verbose=0)
    expected = AdaptiveWingLoss()(y, model(x), sample_weight=w).numpy()
    assert evaluated == pytest.approx(expected, rel=1e-5)
    assert np.isfinite(model.fit(dataset, epochs=1, verbose=0).history["loss"]).all()
