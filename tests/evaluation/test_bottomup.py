"""The bottom-up evaluator under both test-time protocols, with oracle models on images of odd
aspect ratios (150x220 and 333x97, H x W). The evaluator's metrics on a trained-in-the-test
model and its PCK pairing are tested in tests/engine/test_bottomup.py."""

import json

import numpy as np
import pytest

from tests.evaluation.bottomup_oracles import (
    ImageOracle,
    blob_image,
    blob_model,
    figures,
    write_coco,
)
from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.codecs.bottomup_protocol import authors_protocol
from tfpose.evaluation.bottomup import (
    BottomUpEvaluator,
    any_input_size,
    evaluate_bottomup,
)
from tfpose.evaluation.bottomup_check import match_persons
from tfpose.keypoints import COCO_17
from tfpose.models.zoo import create

CODEC = BottomUpCodec(input_size=(128, 128))
SIZES = {1: (150, 220), 2: (333, 97)}  # image id: (H, W)
# Model inputs (H, W) per image and test scale, by HigherHRNet's rule at input size 128.
ALIGNED = {(1,): {1: [(128, 192)], 2: [(448, 128)]},
           (0.5, 1, 2): {1: [(64, 128), (128, 256), (256, 512)],
                         2: [(256, 64), (512, 128), (1024, 256)]}}


@pytest.fixture(scope="module")
def odd_images():
    rng = np.random.default_rng(0)
    return {image_id: (rng.integers(0, 255, (*size, 3), dtype=np.uint8),
                       figures(size, 2 if size[1] > size[0] else 1, seed=image_id))
            for image_id, size in SIZES.items()}


@pytest.fixture(scope="module")
def odd_data(odd_images, tmp_path_factory):
    return write_coco(tmp_path_factory.mktemp("odd"), odd_images)


def max_errors(results, odd_images) -> dict[int, float]:
    """Per image, the largest labelled joint's error (image px) of its predicted persons, after
    checking every person was found once."""
    errors = {}
    for image_id, (_, truth) in odd_images.items():
        found = np.array([r["keypoints"] for r in results if r["image_id"] == image_id],
                         np.float32).reshape(-1, 17, 3)
        assert len(found) == len(truth)
        pairs, distances = match_persons(truth, found)
        assert len(pairs) == len(truth)
        errors[image_id] = float(np.max(distances))
    return errors


@pytest.mark.parametrize("scales", [(1,), (0.5, 1, 2)])
def test_authors_protocol_on_odd_aspect_ratios(odd_images, odd_data, scales, tmp_path):
    protocol = authors_protocol(COCO_17, scales)
    oracle = ImageOracle(CODEC, protocol, odd_images)
    results_file = tmp_path / "results.json"
    metrics = evaluate_bottomup(oracle, CODEC, *odd_data, dataset="coco", protocol=protocol,
                                results_file=results_file, progress=False)
    assert metrics["AP"] >= 0.99 and metrics["num_detections"] == metrics["num_persons"] == 3
    # One image at a time, each test scale and its mirror, at HigherHRNet's sizes.
    expected = [size for image_id in SIZES for size in ALIGNED[scales][image_id]
                for _ in range(2)]
    assert oracle.shapes == expected
    # Back in image pixels within the stride-1 grid's quarter step: 0.25 input px per axis.
    results = json.loads(results_file.read_text())
    for image_id, error in max_errors(results, odd_images).items():
        base = ALIGNED[scales][image_id][scales.index(1)]
        input_px_per_image_px = min(base) / min(SIZES[image_id])
        assert error * input_px_per_image_px <= 0.25 * np.sqrt(2) + 0.02


def test_tfpose_protocol_fits_each_image_into_the_fixed_input(odd_images, odd_data):
    oracle = ImageOracle(CODEC, None, odd_images)
    evaluator = BottomUpEvaluator(*odd_data, CODEC, dataset="coco", batch_size=2,
                                  progress=False)
    predictions = evaluator.predict(oracle, keep_images=2)
    assert evaluator.protocol.name == "tfpose" and evaluator.summary["protocol"] == "tfpose"
    assert oracle.shapes == [(128, 128)] * 4  # one batch of two images, and its mirror
    assert predictions.images.shape == (2, 128, 128, 3)
    assert evaluator.metrics(predictions)["AP"] >= 0.99
    # Stride-2 grid: 0.5 input px per axis; the 333-px side spans 128 input px.
    for image_id, error in max_errors(predictions.results, odd_images).items():
        assert error * 128 / max(SIZES[image_id]) <= 0.5 * np.sqrt(2) + 0.05


def test_litepose_is_rebuilt_to_take_any_input_size():
    model = create("litepose_xs", input_size=(64, 64))
    rebuilt = any_input_size(model)
    image = np.random.default_rng(1).uniform(0, 255, (1, 64, 64, 3)).astype(np.float32)
    for original, copy in zip(model(image), rebuilt(image), strict=True):
        np.testing.assert_allclose(copy.numpy(), original.numpy(), atol=1e-5)
    outputs = rebuilt(np.zeros((1, 128, 192, 3), np.float32))
    assert [tuple(o.shape) for o in outputs] == [(1, 32, 48, 34), (1, 64, 96, 17)]


def test_a_keras_model_is_rebuilt_to_take_any_input_size(odd_data):
    model = blob_model((64, 64))
    rebuilt = any_input_size(model)
    assert rebuilt.input_shape == (None, None, None, 3)
    image = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    for original, copy in zip(model(image), rebuilt(image), strict=True):  # same weights
        np.testing.assert_array_equal(copy.numpy(), original.numpy())
    outputs = rebuilt(np.zeros((1, 448, 128, 3), np.float32))
    assert [tuple(o.shape) for o in outputs] == [(1, 112, 32, 34), (1, 224, 64, 17)]
    codec = BottomUpCodec(input_size=(64, 64))
    evaluator = BottomUpEvaluator(*odd_data, codec, dataset="coco", progress=False,
                                  protocol=authors_protocol(COCO_17))
    metrics = evaluator(model)  # the evaluator rebuilds it
    assert metrics["num_images"] == 2 and np.isfinite(metrics["AP"])
    with pytest.raises(ValueError, match="keep_images needs a protocol with a fixed input"):
        evaluator.predict(model, keep_images=1)


@pytest.mark.parametrize("scales", [(1,), (0.5, 1, 2)])
def test_the_flip_test_swaps_left_and_right_at_aligned_sizes(tmp_path, scales):
    """The blob model sees a red blob as a left shoulder only. With the flip test the mirrored
    image's left shoulder, mirrored back, is the right shoulder: both sit on the blob, at half
    the strength (a merge without the swap would give the left one full strength)."""
    image_size, blob = (150, 220), (150.3, 60.7)
    image = blob_image(image_size, blob, sigma=8.0)
    truth = np.zeros((1, 17, 3), np.float32)
    truth[0, 5:7, :2], truth[0, 5:7, 2] = blob, 2
    data = write_coco(tmp_path, {7: (image, truth)})
    codec, protocol = BottomUpCodec(input_size=(64, 64)), authors_protocol(COCO_17, scales)
    found = {}
    for flip_test in (False, True):
        evaluator = BottomUpEvaluator(*data, codec, dataset="coco", progress=False,
                                      flip_test=flip_test, protocol=protocol)
        (person,) = evaluator.predict(blob_model((64, 64))).results
        found[flip_test] = np.array(person["keypoints"]).reshape(17, 3)
    plain, flipped = found[False], found[True]
    assert plain[5, 2] > 0.7 and (np.delete(plain, 5, axis=0)[:, 2] == 0).all()
    assert flipped[5, 2] == pytest.approx(flipped[6, 2], rel=1e-3)
    assert flipped[5, 2] == pytest.approx(0.5 * plain[5, 2], rel=0.02)
    # On the blob within the stride-1 grid's quarter step (0.25 input px per axis).
    base = codec.inputs_for(image_size, protocol).base_size
    for point in (plain[5], flipped[5], flipped[6]):
        assert np.abs(point[:2] - blob).max() <= 0.25 * image_size[0] / base[0]
