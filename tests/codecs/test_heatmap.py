import cv2
import numpy as np
import pytest

from tests.weights import authors_pipeline
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.keypoints import COCO_17

CODEC = HeatmapCodec(input_size=(256, 192), heatmap_size=(64, 48), sigma=2.0)


def interior_points(n, k=17, margin=4.0, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform([margin, margin], [47 - margin, 63 - margin], (n, k, 2)).astype(np.float32)


def test_encode_is_an_unbiased_gaussian_with_unit_peak():
    heatmaps, weight = CODEC.encode([[10.3, 20.6]], [1])
    hm = heatmaps.numpy()[..., 0]
    assert hm.shape == (64, 48) and weight.numpy().tolist() == [1.0]
    v, u = np.mgrid[0:64, 0:48]
    expected = np.exp(-((u - 10.3) ** 2 + (v - 20.6) ** 2) / (2 * 2.0**2))
    np.testing.assert_allclose(hm, expected, atol=1e-6)


def test_unlabelled_or_off_map_keypoints_get_zero_weight_and_empty_maps():
    points = [[10.0, 10.0], [10.0, 10.0], [-0.6, 5.0], [47.4, 63.4], [48.0, 10.0]]
    heatmaps, weight = CODEC.encode(points, [1, 0, 1, 1, 1])
    assert weight.numpy().tolist() == [1, 0, 0, 1, 0]
    assert heatmaps.numpy()[..., [1, 2, 4]].max() == 0.0


@pytest.mark.parametrize("decoder, tolerance", [("argmax", 0.5), ("quarter", 0.25), ("dark", 0.01)])
def test_decode_round_trip_precision(decoder, tolerance):
    points = interior_points(40)
    heatmaps, _ = CODEC.encode(points, np.ones(points.shape[:2]))
    decoded, scores = CODEC.decode(heatmaps.numpy(), decoder)
    error = np.abs(decoded - points).max()
    assert error <= tolerance + 1e-4
    assert scores.min() > 0.9


def test_dark_is_much_better_than_the_baselines_on_average():
    points = interior_points(40, seed=1)
    heatmaps = CODEC.encode(points, np.ones(points.shape[:2]))[0].numpy()
    errors = {d: np.abs(CODEC.decode(heatmaps, d)[0] - points).mean() for d in
              ("argmax", "quarter", "dark")}
    assert errors["dark"] < 0.1 * errors["quarter"] < 0.1 * errors["argmax"]


def test_sigmoid_variant_decodes_logits():
    codec = HeatmapCodec(output="sigmoid")
    points = interior_points(5)
    targets = codec.encode(points, np.ones(points.shape[:2]))[0].numpy()
    logits = np.log(np.clip(targets, 1e-6, 1 - 1e-6) / np.clip(1 - targets, 1e-6, 1))
    decoded, scores = codec.decode(logits)
    assert np.abs(decoded - points).max() < 0.05
    assert (scores > 0.9).all() and (scores <= 1.0).all()  # probabilities, not logits


def test_image_space_round_trip_through_the_inverse_affine():
    rng = np.random.default_rng(3)
    boxes = rng.uniform([0, 0, 40, 80], [400, 300, 200, 400], (20, 4)).astype(np.float32)
    inner = boxes[:, None, :2] + rng.uniform(0.05, 0.95, (20, 17, 2)) * boxes[:, None, 2:]
    keypoints = np.concatenate([inner, np.full((20, 17, 1), 2.0)], -1).astype(np.float32)
    center, size = CODEC.box_to_center_size(boxes)
    heatmaps, weight = CODEC.encode_from_image(keypoints, center, size)
    decoded, _ = CODEC.decode_to_image(heatmaps.numpy(), center, size)
    assert weight.numpy().min() == 1.0
    pixel = size.numpy()[:, 0] / 48  # one heatmap pixel in image pixels
    assert (np.abs(decoded - inner).max(axis=(1, 2)) < 0.02 * pixel).all()


def test_flip_test_merge_recovers_the_unflipped_heatmaps():
    points = interior_points(3)
    visible = np.ones(points.shape[:2])
    heatmaps = CODEC.encode(points, visible)[0].numpy()
    # What a perfect model sees on the mirrored crop: x -> W - 1 - x and left/right swapped.
    mirrored = points[:, COCO_17.flip_index].copy()
    mirrored[..., 0] = 47 - mirrored[..., 0]
    flipped = CODEC.encode(mirrored, visible)[0].numpy()
    merged = CODEC.merge_flip(heatmaps, flipped, COCO_17.flip_index)
    np.testing.assert_allclose(merged, heatmaps, atol=1e-5)


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="decoder"):
        HeatmapCodec(decoder="soft")
    with pytest.raises(ValueError, match="output"):
        HeatmapCodec(output="softmax")
    with pytest.raises(ValueError, match="sigma"):
        HeatmapCodec(sigma=0)
    with pytest.raises(ValueError, match=r"\[N, H, W, K\]"):
        CODEC.decode(np.zeros((64, 48, 17)))


# ---- the MSRA convention (imported HRNet / SimpleBaseline weights) ----------------------------
MSRA = HeatmapCodec(input_size=(256, 192), heatmap_size=(64, 48), convention="msra",
                    decoder="quarter")


def authors_heatmaps(seed=0):
    """Smooth random maps with peaks anywhere, on the borders and next to them, flat ones and
    maps without a positive value: every branch of the authors' decoder."""
    rng = np.random.default_rng(seed)
    maps = cv2.GaussianBlur(rng.normal(size=(64, 48, 6 * 17)).astype(np.float32), (9, 9), 2)
    maps = maps.reshape(64, 48, 6, 17).transpose(2, 0, 1, 3).copy()
    for k, (x, y) in enumerate([(0, 5), (1, 9), (2, 30), (47, 3), (46, 63), (20, 1), (5, 62)]):
        maps[0, y, x, k] = 10.0
    maps[1, ..., 0] = 0.0  # flat
    maps[1, ..., 1] = -np.abs(maps[1, ..., 1]) - 0.1  # no positive value
    return maps


def test_msra_decoding_is_the_authors_get_final_preds():
    heatmaps = authors_heatmaps()
    rng = np.random.default_rng(1)
    center = rng.uniform(100, 300, (6, 2)).astype(np.float32)
    size = np.stack([rng.uniform(60, 200, 6)] * 2, -1).astype(np.float32) * [0.75, 1.0]
    ours, scores = MSRA.decode_to_image(heatmaps, center, size)
    theirs, values = authors_pipeline.final_preds(heatmaps, center, size / 200.0)
    np.testing.assert_allclose(ours, theirs, atol=2e-3)
    np.testing.assert_array_equal(scores, values)
    tfpose_way, _ = CODEC.decode_to_image(heatmaps, center, size, "quarter")
    assert np.abs(tfpose_way - theirs).max() > 1.0  # the conventions do differ


def test_msra_flip_merge_shifts_the_mirrored_maps_one_pixel_right():
    heatmaps, flipped = authors_heatmaps(0), authors_heatmaps(1)
    expected = 0.5 * (heatmaps + authors_pipeline.flip_back(flipped, COCO_17.flip_pairs))
    np.testing.assert_allclose(MSRA.merge_flip(heatmaps, flipped, COCO_17.flip_index), expected)
