import numpy as np
import pytest
import tensorflow as tf

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.losses.distillation import HeatmapKLDivergence

SHAPE = (2, 6, 5, 3)  # B, H, W, K


def spatial_softmax_np(x, temperature):
    b, h, w, k = x.shape
    flat = x.reshape(b, h * w, k) / temperature
    flat = flat - flat.max(axis=1, keepdims=True)
    e = np.exp(flat)
    return e / e.sum(axis=1, keepdims=True)


def kl_np(teacher, student, temperature, weights=None):
    p = spatial_softmax_np(teacher, temperature)
    q = spatial_softmax_np(student, temperature)
    per_keypoint = (p * (np.log(p) - np.log(q))).sum(axis=1) * temperature**2  # [B, K]
    if weights is not None:
        per_keypoint = per_keypoint * weights
    return per_keypoint.mean()


def random_pair(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, scale, SHAPE), rng.normal(0, scale, SHAPE)


@pytest.mark.parametrize("temperature", [0.1, 1.0, 4.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_numpy_formula(temperature, weighted):
    teacher, student = random_pair(scale=0.3)
    weights = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]) if weighted else None
    expected = kl_np(teacher, student, temperature, weights)
    got = HeatmapKLDivergence(temperature)(teacher.astype(np.float32), student.astype(np.float32),
                                           sample_weight=weights).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_zero_for_equal_inputs_and_positive_otherwise():
    teacher, student = random_pair(1)
    loss = HeatmapKLDivergence(1.0)
    assert loss(teacher, teacher).numpy() == pytest.approx(0.0, abs=1e-6)
    for seed in range(5):
        teacher, student = random_pair(seed, scale=2.0)
        per_keypoint = loss.call(teacher, student).numpy()
        assert (per_keypoint >= -1e-6).all() and loss(teacher, student).numpy() > 0


def test_invariant_to_a_constant_per_channel():
    teacher, student = random_pair(2)
    shift = np.random.default_rng(3).normal(0, 5, (SHAPE[0], 1, 1, SHAPE[3]))
    loss = HeatmapKLDivergence(0.5)
    base = loss(teacher, student).numpy()
    assert loss(teacher + shift, student).numpy() == pytest.approx(base, rel=1e-5)
    assert loss(teacher, student - shift).numpy() == pytest.approx(base, rel=1e-5)


def test_no_gradient_reaches_the_teacher():
    teacher, student = (tf.Variable(x, dtype=tf.float32) for x in random_pair(4))
    with tf.GradientTape() as tape:
        value = HeatmapKLDivergence()(teacher, student)
    grad_teacher, grad_student = tape.gradient(value, [teacher, student])
    assert grad_teacher is None
    assert np.abs(grad_student.numpy()).max() > 0


def test_zero_weight_removes_a_keypoint():
    teacher, student = random_pair(5)
    weights = np.ones(SHAPE[::3])
    weights[1, 2] = 0.0
    changed = student.copy()
    changed[1, ..., 2] = np.random.default_rng(6).normal(0, 3, SHAPE[1:3])
    loss = HeatmapKLDivergence(1.0)
    assert loss(teacher, changed, sample_weight=weights).numpy() == pytest.approx(
        loss(teacher, student, sample_weight=weights).numpy(), rel=1e-6)


def test_default_temperature_concentrates_a_target_heatmap_on_its_keypoint():
    # The reason for T = 0.1 given in the module docstring, on a real codec target.
    codec = HeatmapCodec(input_size=(256, 192), heatmap_size=(64, 48), sigma=2.0)
    heatmap, _ = codec.encode([[[20.3, 30.6]]], [[1]])  # [1, 64, 48, 1]
    heatmap = heatmap.numpy()
    near = (heatmap > np.exp(-2.0)).reshape(1, -1, 1)  # within 2 sigma
    for temperature, lowest, highest in ((HeatmapKLDivergence().temperature, 0.9, 1.0),
                                         (1.0, 0.0, 0.1)):
        mass = spatial_softmax_np(heatmap, temperature)[near].sum()
        assert lowest <= mass <= highest, (temperature, mass)


def test_serialisation_round_trip():
    loss = HeatmapKLDivergence(0.25, name="distil")
    teacher, student = random_pair(7)
    for restored in (tf.keras.losses.get(tf.keras.losses.serialize(loss)),
                     HeatmapKLDivergence.from_config(loss.get_config())):
        assert isinstance(restored, HeatmapKLDivergence)
        assert restored.get_config() == loss.get_config()
        assert restored(teacher, student).numpy() == loss(teacher, student).numpy()


def test_bad_temperature_and_shapes_are_named():
    with pytest.raises(ValueError, match="temperature"):
        HeatmapKLDivergence(0.0)
    with pytest.raises(ValueError, match=r"\[B, H, W, K\]"):
        HeatmapKLDivergence()(np.zeros((2, 4, 4, 3)), np.zeros((2, 4, 4, 2)))
