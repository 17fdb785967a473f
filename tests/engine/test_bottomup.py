import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf
from pycocotools.coco import COCO

from tests.engine.two_replicas import assert_two_replicas_match
from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.data.bottomup import BottomUpAugmentConfig, bottomup_dataset
from tfpose.data.bundled import synthetic_dataset
from tfpose.data.image_records import read_coco_images
from tfpose.engine.bottomup import load_bottomup_data
from tfpose.engine.bottomup import train_data as bottomup_train_data
from tfpose.engine.bottomup_trainer import BottomUpTrainer
from tfpose.engine.flags import parse_args, training_parser
from tfpose.evaluation.bottomup import evaluate_bottomup, pck_bbox
from tfpose.evaluation.bottomup_check import ideal_outputs, mirror_input, to_input
from tfpose.keypoints import COCO_17
from tfpose.models.litepose import litepose
from tfpose.models.litepose_presets import PRESETS as LITEPOSE_PRESETS

SIZE = (128, 128)
CODEC = BottomUpCodec(input_size=SIZE)
METRICS = {"loss", "heatmap_s4", "heatmap_s2", "pull", "push"}


def tiny_litepose(seed=0):
    """LitePose-XS widths and head at 128x128 with one block per stage (a fast trace)."""
    tf.keras.utils.set_random_seed(seed)
    return litepose(variant="xs", input_size=SIZE, stage_blocks=(1, 1, 1, 1))


def synthetic(tmp_path_factory, split, num_images=8):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TFPOSE_CACHE", str(tmp_path_factory.getbasetemp() / "tfpose_cache"))
        return synthetic_dataset(split, num_images=num_images, image_size=SIZE, progress=False)


@pytest.fixture(scope="module")
def train_batch(tmp_path_factory):
    """One augmented training batch of 4 synthetic images: its masks have 0s (outside the image)."""
    records = read_coco_images(*synthetic(tmp_path_factory, "train"))
    batch = next(iter(bottomup_dataset(records, CODEC, batch_size=4, train=True, seed=1)))
    return {key: value.numpy() for key, value in batch.items()}


@pytest.fixture(scope="module")
def trainer():
    """An untrained tiny LitePose in a trainer (tests that train build their own)."""
    trainer = BottomUpTrainer(tiny_litepose())
    trainer.compile()
    return trainer


@pytest.fixture(scope="module")
def val_data(tmp_path_factory):
    return synthetic(tmp_path_factory, "val")


@pytest.fixture(scope="module")
def ideal_model(val_data):
    return IdealModel(*val_data)


def random_outputs(batch, seed=0):
    rng = np.random.default_rng(seed)
    k = batch["heatmaps_s4"].shape[-1]
    first = rng.normal(0.0, 0.5, batch["heatmaps_s4"].shape[:3] + (2 * k,))
    return [first.astype(np.float32),
            rng.normal(0.0, 0.5, batch["heatmaps_s2"].shape).astype(np.float32)]


def numpy_losses(batch, outputs, heatmap_weights=(1.0, 1.0), pull_weight=1e-3,
                 push_weight=1e-3):
    """Per-image terms written out with loops, as HigherHRNet's loss reads."""
    k = batch["heatmaps_s4"].shape[-1]
    terms = {}
    for stride, output in zip((4, 2), outputs, strict=True):
        error = batch[f"masks_s{stride}"] * (output[..., :k] - batch[f"heatmaps_s{stride}"]) ** 2
        terms[f"heatmap_s{stride}"] = error.reshape(len(error), -1).mean(axis=1)
    pulls, pushes = [], []
    for tags, joints in zip(outputs[0][..., k:], batch["joints"], strict=True):
        flat = tags.reshape(-1, k)
        means, pull = [], []
        for person in joints:
            valid = np.flatnonzero(person[:, 1] > 0)
            if valid.size:
                values = flat[person[valid, 0], valid]
                means.append(values.mean())
                pull.append(((values - values.mean()) ** 2).mean())
        pulls.append(np.mean(pull) if pull else 0.0)
        n = len(means)
        pairs = [np.exp(-(means[i] - means[j]) ** 2) for i in range(n) for j in range(n) if i != j]
        pushes.append(0.5 * np.mean(pairs) if pairs else 0.0)
    terms["pull"], terms["push"] = np.array(pulls), np.array(pushes)
    terms["loss"] = (heatmap_weights[0] * terms["heatmap_s4"]
                     + heatmap_weights[1] * terms["heatmap_s2"]
                     + pull_weight * terms["pull"] + push_weight * terms["push"])
    return terms


# ---- the loss --------------------------------------------------------------------------------
def test_loss_equals_a_numpy_evaluation(trainer, train_batch):
    assert (trainer.strides, trainer.num_keypoints, trainer.tag_dim) == ((4, 2), 17, 1)
    mask = train_batch["masks_s4"]
    assert 0 < mask.mean() < 1  # the batch exercises the mask
    assert (train_batch["joints"][..., 1].sum(axis=(1, 2)) > 0).all()
    trainer.compile(heatmap_weights=(1.0, 0.5), pull_weight=1e-3, push_weight=2e-3)
    outputs = random_outputs(train_batch)
    expected = numpy_losses(train_batch, outputs, (1.0, 0.5), 1e-3, 2e-3)
    terms = trainer.loss_terms(train_batch, outputs)
    assert set(terms) == METRICS
    for name, values in expected.items():
        np.testing.assert_allclose(terms[name].numpy(), values, rtol=1e-5, err_msg=name)
    assert (expected["push"] > 0).any() and (expected["pull"] > 0).all()
    loss = trainer.compute_loss(train_batch, y_pred=outputs)  # mean over the (global) batch
    np.testing.assert_allclose(loss.numpy(), expected["loss"].mean(), rtol=1e-5)
    trainer.compile()


def test_masked_pixels_do_not_contribute(trainer, train_batch):
    outputs = random_outputs(train_batch)
    before = trainer.loss_terms(train_batch, outputs)
    for stride, i in ((4, 0), (2, 1)):
        ignored = train_batch[f"masks_s{stride}"][..., 0] == 0
        changed = [o.copy() for o in outputs]
        changed[i][..., :17][ignored] += 100.0
        after = trainer.loss_terms(train_batch, changed)
        np.testing.assert_allclose(after["loss"], before["loss"], rtol=1e-6)
        changed[i][..., :17][~ignored] += 1.0
        raised = trainer.loss_terms(train_batch, changed)[f"heatmap_s{stride}"]
        assert (raised.numpy() > before[f"heatmap_s{stride}"].numpy()).all()


# ---- training --------------------------------------------------------------------------------
def test_fit_reduces_the_loss_and_logs_every_term(train_batch, tmp_path):
    model = tiny_litepose()
    trainer = BottomUpTrainer(model)
    trainer.compile(tf.keras.optimizers.Adam(4e-3))
    data = tf.data.Dataset.from_tensors(train_batch)
    history = trainer.fit(data.repeat(), epochs=3, steps_per_epoch=4, validation_data=data,
                          verbose=0).history
    assert set(history) == METRICS | {f"val_{name}" for name in METRICS}
    assert all(np.isfinite(values).all() for values in history.values())
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["heatmap_s4"][-1] < history["heatmap_s4"][0]
    assert history["pull"][-1] < history["pull"][0]

    expected = model(train_batch["image"], training=False)
    predicted = trainer.predict(data, verbose=0)
    for got, want in zip(predicted, expected, strict=True):
        np.testing.assert_allclose(got, want.numpy(), atol=1e-5)
    with pytest.raises(NotImplementedError, match=r"trainer\.model\.save"):
        trainer.save(tmp_path / "trainer.keras")


def conv_model(seed=0):
    """A batch-norm-free model with LitePose's output layout (replicas agree exactly)."""
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(SIZE + (3,))
    x = tf.keras.layers.Rescaling(1 / 255.0)(inputs)
    x = tf.keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    stride2 = tf.keras.layers.Conv2D(17, 3, padding="same")(x)
    stride4 = tf.keras.layers.Conv2D(34, 3, strides=2, padding="same")(x)
    return tf.keras.Model(inputs, [stride4, stride2])


def train_tiny(strategy, steps=2, build=conv_model):
    """Model weights and History logs after ``steps`` SGD steps on 2-image batches."""
    batch = synthetic_batch()
    data = tf.data.Dataset.from_tensor_slices(batch).batch(2).take(steps)
    with strategy.scope():
        model = build()
        trainer = BottomUpTrainer(model)
        trainer.compile(tf.keras.optimizers.SGD(0.1))
    history = trainer.fit(data, epochs=1, verbose=0)
    return model.get_weights(), history.history


def synthetic_batch(num_images=4):
    """Bottom-up targets of random persons (no images on disk needed): a fixed batch dict."""
    rng = np.random.default_rng(5)
    examples = []
    for _ in range(num_images):
        keypoints = np.concatenate([rng.uniform(8, 120, (3, 17, 2)),
                                    rng.integers(0, 3, (3, 17, 1))], axis=-1)
        targets = CODEC.encode(keypoints)
        mask = lambda h: (rng.uniform(size=h.shape[:2] + (1,)) > 0.1).astype(np.float32)  # noqa
        examples.append({
            "image": rng.uniform(0, 255, SIZE + (3,)).astype(np.float32),
            "heatmaps_s4": targets["heatmaps"][0].numpy(),
            "heatmaps_s2": targets["heatmaps"][1].numpy(),
            "masks_s4": mask(targets["heatmaps"][0]), "masks_s2": mask(targets["heatmaps"][1]),
            "joints": targets["joints"].numpy()})
    return {key: np.stack([e[key] for e in examples]) for key in examples[0]}


def test_mirrored_strategy_matches_no_strategy():
    plain_weights, plain_logs = train_tiny(tf.distribute.get_strategy())
    mirrored_weights, mirrored_logs = train_tiny(tf.distribute.MirroredStrategy(["/cpu:0"]))
    for plain, mirrored in zip(plain_weights, mirrored_weights, strict=True):
        np.testing.assert_allclose(mirrored, plain, rtol=1e-4, atol=1e-6)
    assert mirrored_logs == pytest.approx(plain_logs, rel=1e-5)
    assert set(plain_logs) == METRICS


@pytest.mark.slow
def test_two_replicas_match_one_device():
    # Gradients are summed over replicas: a loss not scaled by the global batch would double.
    # The model has no batch norm, which normalises per replica (1 image each vs 2 together).
    assert_two_replicas_match("tests.engine.test_bottomup")


# ---- evaluation ------------------------------------------------------------------------------
class IdealModel:
    """A stub model: for each input image of the validation pipeline (or its mirror) it returns
    the ideal outputs of that image's ground truth, recognised by the image's bytes."""

    def __init__(self, ann_file, image_dir):
        records = read_coco_images(ann_file, image_dir, keep_images_without_persons=True)
        self.outputs = {}
        for batch in bottomup_dataset(records, CODEC, batch_size=1).as_numpy_iterator():
            i = int(np.flatnonzero(records.image_ids == batch["image_id"][0])[0])
            image = batch["image"][0]
            keypoints = to_input(records.persons(i), records.image_sizes[i], SIZE)
            self.outputs[image.tobytes()] = ideal_outputs(CODEC, keypoints)
            mirrored = np.ascontiguousarray(image[:, ::-1]).tobytes()
            self.outputs[mirrored] = ideal_outputs(CODEC, mirror_input(keypoints, SIZE, COCO_17))
        self.calls = 0

    def __call__(self, images):
        self.calls += 1
        per_image = [self.outputs[np.ascontiguousarray(image).tobytes()] for image in images]
        return [np.concatenate(outputs) for outputs in zip(*per_image, strict=True)]


@pytest.mark.parametrize("dataset, flip_test, max_images, batches",
                         [("synthetic", True, None, 3), ("coco", False, 3, 1)])
def test_ideal_outputs_score_ap_one(val_data, ideal_model, dataset, flip_test, max_images,
                                    batches, tmp_path):
    ann_file, image_dir = val_data
    ideal_model.calls = 0
    results_file = tmp_path / "results.json"
    metrics = evaluate_bottomup(ideal_model, CODEC, ann_file, image_dir, dataset=dataset,
                                flip_test=flip_test, batch_size=3, max_images=max_images,
                                results_file=results_file, progress=False)
    # With max_images, only the images run are scored: the others' persons are not "missed".
    assert metrics["num_images"] == (max_images or 8) and metrics["AP"] >= 0.99
    assert metrics["num_detections"] == metrics["num_persons"] >= metrics["num_images"]
    assert ideal_model.calls == batches * (2 if flip_test else 1)
    assert len(json.loads(results_file.read_text())) == metrics["num_detections"]
    assert metrics["PCK@0.5"] >= 0.99 and metrics["PCK_box@0.05"] >= 0.99
    assert metrics["num_persons_torso"] <= metrics["num_persons"]


def test_untrained_model_gives_finite_metrics(trainer, val_data):
    metrics = evaluate_bottomup(trainer.model, CODEC, *val_data, dataset="synthetic",
                                batch_size=4, max_images=4, progress=False)
    assert metrics["num_images"] == 4
    for name in ("AP", "AP50", "AR", "PCK@0.5", "PCK_box@0.05", "model_ms_per_image",
                 "decode_ms_per_image"):
        assert np.isfinite(metrics[name]), name
    assert 0.0 <= metrics["AP"] < 0.5 and 0.0 <= metrics["PCK@0.5"] <= 1.0


def test_pck_counts_joints_within_a_twentieth_of_the_box():
    truth = np.zeros((2, 17, 3))
    truth[0, :, 0], truth[0, :, 1], truth[0, :, 2] = np.arange(17) * 5.0, 100.0, 2
    truth[1, :, :2], truth[1, :, 2] = 300.0, 2
    truth[1, 3:, 2] = 0  # 3 labelled joints
    boxes = ([0, 0, 100, 200], [290, 290, 20, 20])
    coco = COCO()
    coco.dataset = {
        "images": [{"id": 1, "width": 400, "height": 400, "file_name": "a.jpg"}],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": [{"id": i + 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                         "keypoints": t.reshape(-1).tolist(), "bbox": box, "area": 1.0}
                        for i, (t, box) in enumerate(zip(truth, boxes, strict=True))]}
    coco.createIndex()
    predicted = truth[0].copy()
    predicted[:, 2] = 0.9
    predicted[0, 0] += 9.9  # within 0.05 x 200 = 10 px
    predicted[1, 1] += 10.5  # beyond
    predicted[2, 2] = 0.0  # not found
    results = [{"image_id": 1, "category_id": 1, "keypoints": predicted.reshape(-1).tolist(),
                "score": 0.9}]
    pck = pck_bbox(coco, results)
    assert pck == {"PCK": 15 / 20, "num_joints": 20, "matched_persons": 1, "num_persons": 2}


def test_bad_inputs_are_named(trainer, train_batch, val_data):
    with pytest.raises(ValueError, match="does not take"):
        trainer.compile(loss="mse")
    with pytest.raises(ValueError, match="one weight >= 0 per output stride"):
        trainer.compile(heatmap_weights=(1.0,))
    incomplete = {key: value for key, value in train_batch.items() if key != "masks_s2"}
    with pytest.raises(ValueError, match=r"lacks \['masks_s2'\]"):
        trainer.loss_terms(incomplete, random_outputs(train_batch))
    crowd = {**train_batch, "heatmaps_s4": train_batch["heatmaps_s4"][..., :14]}
    with pytest.raises(ValueError, match="the batch has 14 keypoints, the model predicts 17"):
        trainer.loss_terms(crowd, random_outputs(train_batch))
    inputs = tf.keras.Input((64, 64, 3))
    odd = tf.keras.Model(inputs, [tf.keras.layers.Conv2D(5, 4, strides=4)(inputs)])
    with pytest.raises(ValueError, match="channels"):
        BottomUpTrainer(odd)
    with pytest.raises(ValueError, match="dataset must be one of"):
        evaluate_bottomup(trainer.model, CODEC, *val_data, dataset="mpii")
    with pytest.raises(TypeError, match="callable"):
        evaluate_bottomup("model.tflite", CODEC, *val_data, progress=False)


def test_training_images_get_the_presets_augmentation(tmp_path, monkeypatch):
    """LitePose's presets keep the authors' augmentation (BottomUpAugmentConfig's defaults); a
    preset that names another is what the training batches are drawn with."""
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    parser = training_parser("test", method="litepose", presets=LITEPOSE_PRESETS)
    args = parse_args(parser, ["--synthetic-images", "4", "2", "--input-size", "128x128"])
    assert load_bottomup_data(args).augment == BottomUpAugmentConfig()

    args.preset = dataclasses.replace(args.preset, augment={"flip_prob": 1.0})
    data = load_bottomup_data(args)
    assert data.augment == BottomUpAugmentConfig(flip_prob=1.0)
    batch = next(iter(bottomup_train_data(data, CODEC, 4, seed=0)(0)))
    assert batch["flip"].numpy().all()
