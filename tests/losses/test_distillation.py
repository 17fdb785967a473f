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


def kl_np(teacher, student, temperature, weights=None, scale_by_t2=False):
    p = spatial_softmax_np(teacher, temperature)
    q = spatial_softmax_np(student, temperature)
    per_keypoint = (p * (np.log(p) - np.log(q))).sum(axis=1)  # [B, K]
    if scale_by_t2:
        per_keypoint = per_keypoint * temperature**2
    if weights is not None:
        per_keypoint = per_keypoint * weights
    return per_keypoint.mean()


def random_pair(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, scale, SHAPE), rng.normal(0, scale, SHAPE)


@pytest.mark.parametrize("temperature", [0.1, 1.0, 4.0])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("scale_by_t2", [False, True])
def test_matches_numpy_formula(temperature, weighted, scale_by_t2):
    teacher, student = random_pair(scale=0.3)
    weights = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]) if weighted else None
    expected = kl_np(teacher, student, temperature, weights, scale_by_t2)
    loss = HeatmapKLDivergence(temperature, scale_by_t2=scale_by_t2)
    got = loss(teacher.astype(np.float32), student.astype(np.float32),
               sample_weight=weights).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_gradient_is_the_softmax_difference_over_t():
    # d KL / d student = (q - p) / T per channel (times T^2 with scale_by_t2), divided by the
    # B * K keypoints the default reduction averages over.
    teacher, student = random_pair(8)
    student = tf.constant(student, tf.float32)
    temperature = 0.2
    expected = (spatial_softmax_np(student.numpy(), temperature)
                - spatial_softmax_np(teacher, temperature)) / temperature / (SHAPE[0] * SHAPE[3])
    for scale_by_t2, factor in ((False, 1.0), (True, temperature**2)):
        with tf.GradientTape() as tape:
            tape.watch(student)
            value = HeatmapKLDivergence(temperature, scale_by_t2=scale_by_t2)(teacher, student)
        gradient = tape.gradient(value, student).numpy().reshape(SHAPE[0], -1, SHAPE[3])
        np.testing.assert_allclose(gradient, factor * expected, rtol=1e-4, atol=1e-7)


def kl_gradient_norm(teacher, student, temperature):
    student = tf.constant(student, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(student)
        value = HeatmapKLDivergence(temperature)(teacher, student)
    return np.linalg.norm(tape.gradient(value, student).numpy())


def test_gradient_scales_as_one_over_t_for_heatmaps_and_one_over_t2_at_high_t():
    # Why there is no T^2 factor by default (module docstring). The gradient is (q - p) / T.
    # Once T is well above the range of the heatmaps' values, q - p shrinks as 1/T too: the
    # gradient falls as 1/T^2, which Hinton's T^2 undoes. At T = 0.1 the softmaxes are peaked
    # and q - p stays of order 1, so the gradient grows about as 1/T as T falls, and T^2 would
    # make it vanish as T. The student: noise of the spread of an untrained BiHRNet's outputs.
    codec = HeatmapCodec(input_size=(96, 64), heatmap_size=(24, 16), sigma=1.5)
    teacher, _ = codec.encode([[[7.3, 11.6]]], [[1]])  # [1, 24, 16, 1], peak ~1
    student = np.random.default_rng(9).normal(0, 3.0, teacher.shape)

    def exponent(low, high):  # d log ||gradient|| / d log T between two temperatures
        ratio = kl_gradient_norm(teacher, student, high) / kl_gradient_norm(teacher, student,
                                                                             low)
        return np.log(ratio) / np.log(high / low)

    assert -1.5 < exponent(0.05, 0.2) < -0.9
    assert exponent(8.0, 16.0) == pytest.approx(-2.0, abs=0.1)


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


@pytest.mark.parametrize("scale_by_t2", [False, True])
def test_serialisation_round_trip(scale_by_t2):
    loss = HeatmapKLDivergence(0.25, scale_by_t2=scale_by_t2, name="distil")
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
