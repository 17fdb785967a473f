import cv2
import numpy as np
import pytest

from tests.weights import authors_pipeline
from tfpose.codecs import geometry


def test_box_to_center_size_fixes_aspect_and_pads():
    center, size = geometry.box_to_center_size([[10, 20, 30, 100], [0, 0, 90, 60]], 0.75, 1.25)
    np.testing.assert_allclose(center.numpy(), [[25, 70], [45, 30]])
    # tall box: width grows to 0.75 * height; wide box: height grows to width / 0.75
    np.testing.assert_allclose(size.numpy(), [[75 * 1.25, 100 * 1.25], [90 * 1.25, 120 * 1.25]])


def test_box_edges_map_to_output_pixel_edges():
    matrix = geometry.affine_matrix([50.0, 40.0], [20.0, 40.0], 0.0, (8, 4))
    corners = geometry.apply_affine(matrix, [[40.0, 20.0], [60.0, 60.0], [50.0, 40.0]]).numpy()
    np.testing.assert_allclose(corners, [[-0.5, -0.5], [3.5, 7.5], [1.5, 3.5]], atol=1e-5)


def test_input_and_heatmap_grids_stay_aligned_at_any_stride():
    center, size, rot = [120.0, 90.0], [96.0, 128.0], 17.0
    p = np.random.default_rng(0).uniform(50, 150, (10, 2)).astype(np.float32)
    x_in = geometry.apply_affine(geometry.affine_matrix(center, size, rot, (256, 192)), p)
    x_hm = geometry.apply_affine(geometry.affine_matrix(center, size, rot, (64, 48)), p)
    np.testing.assert_allclose(x_hm.numpy(), (x_in.numpy() + 0.5) / 4 - 0.5, atol=1e-4)


def test_rotation_is_counter_clockwise_on_screen():
    # a point right of the centre moves up (smaller y) under +90 degrees
    matrix = geometry.affine_matrix([0.0, 0.0], [10.0, 10.0], 90.0, (11, 11))
    x, y = geometry.apply_affine(matrix, [[2.0, 0.0]]).numpy()[0]
    assert x == pytest.approx(5.0, abs=1e-4) and y == pytest.approx(5.0 - 2.2, abs=1e-4)


def test_flip_mirrors_about_the_output_centre():
    plain = geometry.affine_matrix([30.0, 30.0], [40.0, 40.0], 10.0, (16, 12))
    flipped = geometry.affine_matrix([30.0, 30.0], [40.0, 40.0], 10.0, (16, 12), flip=True)
    p = [[25.0, 33.0]]
    a = geometry.apply_affine(plain, p).numpy()[0]
    b = geometry.apply_affine(flipped, p).numpy()[0]
    np.testing.assert_allclose(b, [11 - a[0], a[1]], atol=1e-5)


def test_invert_affine_round_trip():
    matrix = geometry.affine_matrix([[5.0, 7.0]], [[30.0, 50.0]], [33.0], (64, 48), [True])
    p = np.array([[[1.0, 2.0], [20.0, -4.0]]], np.float32)
    back = geometry.apply_affine(geometry.invert_affine(matrix),
                                   geometry.apply_affine(matrix, p))
    np.testing.assert_allclose(back.numpy(), p, atol=1e-4)


def test_warp_image_matches_opencv():
    # A smooth image: OpenCV's 5-bit fixed-point interpolation weights then cost < 1 grey level.
    yy, xx = np.mgrid[0:60, 0:80].astype(np.float32)
    image = np.stack([2 * xx, 3 * yy, 120 + 100 * np.sin(xx / 7) * np.cos(yy / 5)], axis=-1)
    matrix = geometry.affine_matrix([40.0, 30.0], [30.0, 40.0], 25.0, (32, 24)).numpy()
    ours = geometry.warp_image(image, matrix, (32, 24)).numpy()
    ref = cv2.warpAffine(image, matrix, (24, 32), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT)
    inside = ref.sum(-1) > 0  # compare where both sample the image, not the zero border
    assert np.abs(ours - ref)[inside].max() < 1.0
    assert inside.mean() > 0.5


def test_compose_affine_equals_applying_both():
    inner = geometry.affine_matrix([30.0, 40.0], [50.0, 80.0], 20.0, (64, 48), True)
    outer = geometry.affine_matrix([10.0, 12.0], [20.0, 30.0], -35.0, (256, 192))
    p = [[3.0, 4.0], [40.0, 7.0]]
    both = geometry.apply_affine(outer, geometry.apply_affine(inner, p))
    composed = geometry.apply_affine(geometry.compose_affine(outer, inner), p)
    np.testing.assert_allclose(composed.numpy(), both.numpy(), rtol=1e-5, atol=1e-3)


# ---- the MSRA convention (imported HRNet / SimpleBaseline weights) ----------------------------
def test_msra_affine_is_the_authors_get_affine_transform():
    center, size = np.array([131.7, 88.2], np.float32), np.array([90.0, 120.0], np.float32)
    for output_size in ((256, 192), (64, 48), (96, 72)):
        ours = geometry.affine_matrix(center, size, 0.0, output_size, convention="msra")
        theirs = authors_pipeline.affine_transform(center, size / 200.0, output_size[::-1])
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-5, atol=1e-4)


def test_msra_heatmap_pixel_j_is_input_pixel_j_times_stride():
    points = np.array([[[0.0, 0.0], [10.25, 3.5], [47.0, 63.0]]], np.float32)
    x, y = geometry.grid_to_grid(points, (64, 48), (256, 192), "msra")
    np.testing.assert_allclose(np.stack([x, y], -1), points * 4)
    x, y = geometry.grid_to_grid(points, (64, 48), (256, 192), "tfpose")
    np.testing.assert_allclose(np.stack([x, y], -1), (points + 0.5) * 4 - 0.5)
    center, size = [100.0, 80.0], [48.0, 64.0]  # the same as going through the image
    through = geometry.apply_affine(
        geometry.affine_matrix(center, size, 0.0, (256, 192), convention="msra"),
        geometry.apply_affine(geometry.invert_affine(
            geometry.affine_matrix(center, size, 0.0, (64, 48), convention="msra")), points))
    np.testing.assert_allclose(through.numpy(), points * 4, atol=1e-3)


def test_msra_flip_is_x_to_w_minus_x():
    plain = geometry.affine_matrix([30.0, 30.0], [40.0, 40.0], 0.0, (16, 12), convention="msra")
    flipped = geometry.affine_matrix([30.0, 30.0], [40.0, 40.0], 0.0, (16, 12), flip=True,
                                     convention="msra")
    a = geometry.apply_affine(plain, [[25.0, 33.0]]).numpy()[0]
    b = geometry.apply_affine(flipped, [[25.0, 33.0]]).numpy()[0]
    np.testing.assert_allclose(b, [12 - a[0], a[1]], atol=1e-5)
    with pytest.raises(ValueError, match="convention must be one of"):
        geometry.affine_matrix([0.0, 0.0], [1.0, 1.0], 0.0, (4, 4), convention="udp")
