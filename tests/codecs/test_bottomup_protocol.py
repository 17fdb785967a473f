"""Bottom-up test-time protocols: HigherHRNet's aligned input sizes and the checks."""

import numpy as np
import pytest

from tfpose.codecs.bottomup_protocol import (
    BottomUpProtocol,
    aligned_input_size,
    authors_protocol,
    named_protocol,
    tfpose_protocol,
)
from tfpose.keypoints import COCO_17, CROWDPOSE_14


def higherhrnet_size(image_size, input_size, scale, min_scale):
    """HigherHRNet's get_multi_scale_size, as its arithmetic reads (lib/utils/transforms.py):
    ``(W, H)`` there, ``(H, W)`` here."""
    h, w = image_size
    smallest = int((min_scale * input_size + 63) // 64 * 64)
    if w < h:
        return (int(int((smallest / w * h + 63) // 64 * 64) * scale / min_scale),
                int(smallest * scale / min_scale))
    return (int(smallest * scale / min_scale),
            int(int((smallest / h * w + 63) // 64 * 64) * scale / min_scale))


@pytest.mark.parametrize("image_size, input_size, scales, expected", [
    ((150, 220), 256, (1,), [(256, 384)]),  # 256 / 150 * 220 = 375.5 -> 384
    ((333, 97), 256, (1,), [(896, 256)]),  # 256 / 97 * 333 = 878.8 -> 896
    ((300, 451), 256, (1,), [(256, 384)]),  # 384.85: from its whole pixels, 384 (not 448)
    ((97, 97), 256, (1,), [(256, 256)]),
    ((150, 220), 256, (0.5, 1, 2), [(128, 192), (256, 384), (512, 768)]),
    ((333, 97), 256, (0.5, 1, 2), [(448, 128), (896, 256), (1792, 512)]),
    ((150, 220), 128, (0.5, 1, 2), [(64, 128), (128, 256), (256, 512)]),  # 0.5 x 128 -> 64
])
def test_aligned_input_sizes_are_higherhrnets(image_size, input_size, scales, expected):
    sizes = [aligned_input_size(image_size, input_size, s, min(scales)) for s in scales]
    assert sizes == expected
    for size in sizes:  # short side a multiple of 64 at the smallest scale, aspect kept
        assert size[0] / size[1] == pytest.approx(sizes[0][0] / sizes[0][1])


def test_aligned_input_sizes_equal_the_authors_arithmetic():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        image_size = tuple(int(v) for v in rng.integers(20, 1500, 2))
        input_size = int(rng.choice([128, 256, 448, 512, 640]))
        scales = sorted(rng.choice([0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0], 2, replace=False))
        for scale in scales:
            assert aligned_input_size(image_size, input_size, scale, scales[0]) == \
                higherhrnet_size(image_size, input_size, scale, scales[0])


def test_protocols_are_checked():
    assert named_protocol("tfpose", COCO_17) == tfpose_protocol()
    authors = named_protocol("authors", CROWDPOSE_14, [0.5, 1])
    assert authors.scales == (0.5, 1.0) and authors.grouping.grouping_stride == 1
    assert authors.grouping.order(CROWDPOSE_14) == (0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13)
    with pytest.raises(ValueError, match="protocol must be one of"):
        named_protocol("mine", COCO_17)
    with pytest.raises(ValueError, match="part of the authors' protocol"):
        named_protocol("tfpose", COCO_17, [0.5, 1])
    with pytest.raises(ValueError, match="lack 1"):
        authors_protocol(COCO_17, (0.5, 2))
    with pytest.raises(ValueError, match="need the aligned fit"):
        BottomUpProtocol(scales=(1, 2))
    with pytest.raises(ValueError, match="distinct positive"):
        authors_protocol(COCO_17, (1, 1))
