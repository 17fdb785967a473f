
import numpy as np
import pytest
import tensorflow as tf

from tests.engine.two_replicas import assert_two_replicas_match
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.engine.distiller import Distiller, stage_two_from, transfer_weights
from tfpose.layers.binary import QuantPolicy
from tfpose.losses.distillation import HeatmapKLDivergence
from tfpose.losses.heatmap import AdaptiveWingLoss, KeypointMSE
from tfpose.models.zoo import create

TINY = {"input_size": (64, 64), "num_keypoints": 4, "modules": (1, 1, 1), "branch_blocks": 1,
        "stage1_blocks": 1}


def random_batches(num_examples=4, input_size=(64, 64), num_keypoints=4, seed=0):
    """Top-down-pipeline-like examples: image, heatmaps, target_weight and an unused extra key."""
    rng = np.random.default_rng(seed)
    heatmap_size = (input_size[0] // 4, input_size[1] // 4)
    codec = HeatmapCodec(input_size=input_size, heatmap_size=heatmap_size, sigma=1.0)
    points = rng.uniform(0, heatmap_size[1] - 1, (num_examples, num_keypoints, 2))
    visible = rng.uniform(size=(num_examples, num_keypoints)) > 0.25
    heatmaps, weights = codec.encode(points, visible)
    return {
        "image": rng.uniform(0, 255, (num_examples, *input_size, 3)).astype(np.float32),
        "heatmaps": heatmaps.numpy(),
        "target_weight": weights.numpy(),
        "center": rng.uniform(0, 100, (num_examples, 2)).astype(np.float32),
    }


def as_dataset(batches, batch_size=2):
    return tf.data.Dataset.from_tensor_slices(batches).batch(batch_size)


@pytest.fixture(scope="module")
def teacher():
    return create("hrnet_w18", **TINY)


@pytest.fixture(scope="module")
def stage_one():
    return create("bihrnet_w18", policy=QuantPolicy().stage_one(), **TINY)


# ---- training with a real teacher and a BiHRNet student --------------------------------------
# Graph mode costs ~40 s here (tracing and optimising the step's graph); the tiny conv models
# below cover graph mode and tf.distribute in the fast runs.
@pytest.mark.parametrize("run_eagerly", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_distillation_trains_the_student_and_leaves_the_teacher(teacher, stage_one, run_eagerly):
    data = random_batches()
    teacher_before = [w.copy() for w in teacher.get_weights()]
    student_before = [w.numpy().copy() for w in stage_one.trainable_weights]
    distiller = Distiller(stage_one, teacher)
    distiller.compile(tf.keras.optimizers.Adam(1e-2), run_eagerly=run_eagerly)
    history = distiller.fit(as_dataset(data), validation_data=as_dataset(data), epochs=1,
                            verbose=0)

    logs = history.history
    names = {"loss", "kl", "awing", "kl_loss_share", "kl_grad_share"}
    assert set(logs) == names | {f"val_{name}" for name in names}
    assert all(np.isfinite(values).all() for values in logs.values())
    assert logs["loss"][0] > 0 and logs["kl"][0] > 0 and logs["awing"][0] > 0
    assert all(0 < logs[share][0] < 1 for share in ("kl_loss_share", "kl_grad_share"))
    for before, after in zip(teacher_before, teacher.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)  # incl. batch-norm statistics
    changed = [not np.array_equal(before, after.numpy())
               for before, after in zip(student_before, stage_one.trainable_weights, strict=True)]
    assert np.mean(changed) > 0.9

    expected = stage_one(data["image"], training=False).numpy()
    # float32 through other batch splits: agreement to rounding, relative to outputs up to ~12
    np.testing.assert_allclose(distiller.predict(data["image"], verbose=0), expected,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(distiller.predict(as_dataset(data), verbose=0), expected,
                               rtol=1e-5, atol=1e-5)


def test_compute_loss_is_the_weighted_sum_of_the_standalone_losses(teacher, stage_one):
    data = random_batches(seed=1)
    kl, awing = HeatmapKLDivergence(0.5), AdaptiveWingLoss()
    distiller = Distiller(stage_one, teacher)
    distiller.compile("sgd", kl_weight=0.3, heatmap_weight=2.0, kl=kl, heatmap_loss=awing)
    images, truth, weights = data["image"], data["heatmaps"], data["target_weight"]
    student = stage_one(images, training=False)
    loss = distiller.compute_loss(images, truth, student, weights).numpy()

    kl_value = kl(teacher(images, training=False), student).numpy()
    awing_value = awing(truth, student, sample_weight=weights).numpy()
    assert loss == pytest.approx(0.3 * kl_value + 2.0 * awing_value, rel=1e-5)
    logged = {metric.name: metric.result().numpy() for metric in distiller.metrics
              if not metric.name.endswith("_share")}
    assert logged == pytest.approx({"loss": loss, "kl": kl_value, "awing": awing_value}, rel=1e-5)


def identity_model(name):
    """``[B, 1, 2, 1]`` -> itself: a teacher whose heatmaps are its input."""
    inputs = tf.keras.Input((1, 2, 1))
    return tf.keras.Model(inputs, tf.keras.layers.Activation("linear")(inputs), name=name)


def test_shares_of_the_kl_term_by_hand():
    # One keypoint on two pixels, T = 1, MSE as the ground-truth term, two examples:
    # 0: teacher [0, 0] -> p = [1/2, 1/2]; student [ln 3, 0] -> q = [3/4, 1/4];
    #    KL = (ln(2/3) + ln 2) / 2 = ln(4/3) / 2, its gradient q - p = [1/4, -1/4];
    #    truth = student + [3/4, -3/4]: MSE 9/16, its gradient (student - truth) = [-3/4, 3/4].
    #    With kl_weight 3 the two gradients have equal norms: share 1/2.
    # 1: teacher = student: KL and its gradient are 0, share 0.
    distiller = Distiller(identity_model("student"), identity_model("teacher"))
    distiller.compile("sgd", kl_weight=3.0, heatmap_weight=1.0, kl=HeatmapKLDivergence(1.0),
                      heatmap_loss=KeypointMSE())
    student = np.array([[np.log(3.0), 0.0], [0.2, 0.7]], np.float32).reshape(2, 1, 2, 1)
    teacher = np.array([[0.0, 0.0], [0.2, 0.7]], np.float32).reshape(2, 1, 2, 1)
    truth = student + np.array([0.75, -0.75], np.float32).reshape(1, 1, 2, 1)
    distiller.compute_loss(teacher, truth, student)

    logged = {metric.name: metric.result().numpy() for metric in distiller.metrics}
    kl = np.log(4 / 3) / 2
    assert logged["kl_grad_share"] == pytest.approx((0.5 + 0.0) / 2, rel=1e-5)
    assert logged["kl_loss_share"] == pytest.approx((3 * kl / (3 * kl + 9 / 16) + 0.0) / 2,
                                                    rel=1e-5)


def test_metric_names_follow_the_losses(teacher, stage_one):
    distiller = Distiller(stage_one, teacher)
    distiller.compile("sgd", heatmap_loss=KeypointMSE(), kl=HeatmapKLDivergence(name="distil"))
    assert [metric.name for metric in distiller.metrics] == [
        "loss", "distil", "keypoint_mse", "distil_loss_share", "distil_grad_share"]


# ---- tf.distribute ---------------------------------------------------------------------------
def tiny_model(name, seed, num_keypoints=4, regularized=False):
    """A conv net without batch norm, so that replicas compute exactly what one device does."""
    inputs = tf.keras.Input((16, 16, 3))
    regularizer = tf.keras.regularizers.l2(1e-2) if regularized else None
    x = tf.keras.layers.Conv2D(4, 3, strides=4, padding="same", activation="relu", name="conv",
                               kernel_regularizer=regularizer)(inputs / 255.0)
    outputs = tf.keras.layers.Conv2D(num_keypoints, 1, name="head")(x)
    model = tf.keras.Model(inputs, outputs, name=name)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape) for w in model.get_weights()])
    return model


def train_tiny(strategy, steps=2, global_batch=4):
    """Student weights and History logs after ``steps`` SGD steps on tuple batches."""
    data = random_batches(steps * global_batch, input_size=(16, 16), seed=3)
    dataset = tf.data.Dataset.from_tensor_slices(
        (data["image"], data["heatmaps"], data["target_weight"])).batch(global_batch)
    with strategy.scope():
        student = tiny_model("student", 1, regularized=True)
        distiller = Distiller(student, tiny_model("teacher", 2))
        distiller.compile(tf.keras.optimizers.SGD(0.5), kl=HeatmapKLDivergence(1.0))
    history = distiller.fit(dataset, epochs=1, verbose=0)
    return student.get_weights(), history.history


def test_mirrored_strategy_matches_no_strategy():
    plain_weights, plain_logs = train_tiny(tf.distribute.get_strategy())
    mirrored_weights, mirrored_logs = train_tiny(tf.distribute.MirroredStrategy(["/cpu:0"]))
    for plain, mirrored in zip(plain_weights, mirrored_weights, strict=True):
        np.testing.assert_allclose(mirrored, plain, rtol=1e-5, atol=1e-6)
    assert mirrored_logs == pytest.approx(plain_logs, rel=1e-5)
    assert not np.allclose(plain_weights[0], tiny_model("student", 1).get_weights()[0])


def test_two_replicas_match_one_device():
    # Gradients are summed over replicas: a loss not scaled by the global batch would double.
    assert_two_replicas_match("tests.engine.test_distiller")


# ---- two-stage binary training ---------------------------------------------------------------
def test_stage_two_equals_stage_one_on_sign_of_its_weights(stage_one):
    original = stage_one.get_weights()
    try:
        big = stage_one.get_layer("stage1_b0_mid_bconv")
        big.kernel.assign(big.kernel * 50.0)  # latent weights outside the clip
        stage_two = stage_two_from(stage_one, lambda: create("bihrnet_w18", **TINY))
        binary = {layer.name for layer in stage_two.layers
                  if getattr(layer, "kernel_quantizer", None) is not None}
        assert binary and "stage1_b0_mid_bconv" in binary

        for layer in stage_two.layers:
            if not layer.weights:
                continue
            source = stage_one.get_layer(layer.name).get_weights()
            for got, want in zip(layer.get_weights(), source, strict=True):
                want = np.clip(want, -1, 1) if layer.name in binary else want
                np.testing.assert_array_equal(got, want)
        assert np.abs(stage_two.get_layer("stage1_b0_mid_bconv").kernel.numpy()).max() == 1.0

        for name in binary:  # the float reference: stage one on sign(weights)
            kernel = stage_one.get_layer(name).kernel
            kernel.assign(tf.where(kernel >= 0, 1.0, -1.0))
        images = random_batches(2, seed=4)["image"]
        np.testing.assert_allclose(stage_two(images, training=False).numpy(),
                                   stage_one(images, training=False).numpy(),
                                   rtol=1e-4, atol=1e-4)
    finally:
        stage_one.set_weights(original)


def test_transfer_weights_names_what_differs():
    source = tiny_model("a", 0)
    other_names = tf.keras.Sequential([tf.keras.Input((16, 16, 3)),
                                       tf.keras.layers.Conv2D(4, 3, name="conv2")])
    with pytest.raises(ValueError, match="conv2"):
        transfer_weights(source, other_names)
    with pytest.raises(ValueError, match="'head': weight shapes differ"):
        transfer_weights(source, tiny_model("b", 0, num_keypoints=5))


# ---- errors ----------------------------------------------------------------------------------
def test_bad_inputs_are_named(teacher, stage_one):
    with pytest.raises(ValueError, match="outputs"):
        Distiller(tiny_model("student", 0, num_keypoints=3), tiny_model("teacher", 0))
    distiller = Distiller(stage_one, teacher)
    with pytest.raises(ValueError, match="loss"):
        distiller.compile("sgd", loss="mse")
    with pytest.raises(TypeError, match="heatmap_loss"):
        distiller.compile("sgd", heatmap_loss=tf.keras.losses.MeanSquaredError())
    with pytest.raises(ValueError, match="weights"):
        distiller.compile("sgd", kl_weight=0.0, heatmap_weight=0.0)
    distiller.compile("sgd")
    data = random_batches(2)
    del data["heatmaps"]
    with pytest.raises(ValueError, match="heatmaps"):
        distiller.train_step(data)
    with pytest.raises(NotImplementedError, match=r"student\.save"):
        distiller.save("distiller.keras")
