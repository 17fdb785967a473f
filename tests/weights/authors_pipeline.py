"""The HRNet / SimpleBaseline authors' top-down test path, written here in numpy and OpenCV from
its published description (deep-high-resolution-net.pytorch: ``lib/utils/transforms.py``,
``lib/core/inference.py``, ``lib/core/function.py``; ``../shared/REFERENCE.md``, "The authors'
code"), as the reference that tfpose's ``"msra"`` convention must reproduce. The network is the
caller's (a function of a ``[B, H, W, 3]`` float32 RGB batch in [0, 255] returning
``[B, h, w, K]`` heatmaps).

Their steps, one function each: box -> ``center, scale`` (``_xywh2cs``: the box widened to the
model's aspect ratio, in units of 200 pixels, times 1.25); the crop (``get_affine_transform``
mapping the centre onto ``(W / 2, H / 2)``, ``cv2.warpAffine`` of the uint8 image, bilinear);
the flip test (the crop mirrored, the heatmaps mirrored back with left/right swapped and shifted
one pixel right, then averaged); the decoder (``get_max_preds``: argmax, positions of non-positive
peaks zeroed; a quarter pixel toward the higher neighbour when ``1 < px < W - 1`` and ``1 < py <
H - 1``; ``transform_preds``: the inverse of the heatmap-sized affine).
"""

import cv2
import numpy as np

PIXEL_STD = 200.0


def box_to_center_scale(box, aspect_ratio: float, padding: float = 1.25):
    x, y, w, h = (float(v) for v in box)
    center = np.array([x + w * 0.5, y + h * 0.5], np.float32)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    return center, np.array([w / PIXEL_STD, h / PIXEL_STD], np.float32) * padding


def whole_pixel_box(box, input_size, padding: float = 1.25) -> list[float]:
    """A 50-pixel-wide box on ``box``'s centre rounded to a whole pixel, as tall as the input
    ``(H, W)`` divided by ``padding``: its crop keeps the image's scale and starts on a whole
    pixel under the authors' convention, so OpenCV's fixed-point warp and TensorFlow's read the
    same pixel values and only the conventions differ."""
    x, y, w, h = (float(v) for v in box)
    height = input_size[0] / padding
    return [round(x + w / 2) - 25, round(y + h / 2) - height / 2, 50, height]


def _third_point(a, b):
    direction = a - b
    return b + np.array([-direction[1], direction[0]], np.float32)


def affine_transform(center, scale, output_size, inverse: bool = False) -> np.ndarray:
    """Their ``get_affine_transform`` without rotation; ``output_size`` is (W, H)."""
    src_w = scale[0] * PIXEL_STD
    dst_w, dst_h = output_size
    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0] = center
    src[1] = center + np.array([0, src_w * -0.5], np.float32)
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = np.array([dst_w * 0.5, dst_h * 0.5]) + np.array([0, dst_w * -0.5], np.float32)
    src[2] = _third_point(src[0], src[1])
    dst[2] = _third_point(dst[0], dst[1])
    return cv2.getAffineTransform(*((dst, src) if inverse else (src, dst)))


def crop(image: np.ndarray, center, scale, input_size) -> np.ndarray:
    """``[H, W, 3]`` uint8 crop; ``input_size`` (H, W)."""
    size = (int(input_size[1]), int(input_size[0]))
    return cv2.warpAffine(image, affine_transform(center, scale, size), size,
                          flags=cv2.INTER_LINEAR)


def flip_back(heatmaps: np.ndarray, flip_pairs) -> np.ndarray:
    """``[B, h, w, K]`` heatmaps of mirrored crops mirrored back, left/right swapped, shifted one
    pixel right (``SHIFT_HEATMAP``)."""
    back = heatmaps[:, :, ::-1].copy()
    for left, right in flip_pairs:
        back[..., [left, right]] = back[..., [right, left]]
    back[:, :, 1:] = back[:, :, :-1].copy()
    return back


def final_preds(heatmaps: np.ndarray, centers, scales):
    """``[B, h, w, K]`` heatmaps -> ``[B, K, 2]`` image keypoints and ``[B, K]`` peak values."""
    b, h, w, k = heatmaps.shape
    maps = heatmaps.transpose(0, 3, 1, 2).reshape(b, k, -1)
    index = maps.argmax(-1)
    values = maps.max(-1)
    coords = np.stack([index % w, index // w], -1).astype(np.float32)
    coords *= (values > 0)[..., None]
    for n in range(b):
        for j in range(k):
            hm = heatmaps[n, :, :, j]
            px, py = (int(np.floor(v + 0.5)) for v in coords[n, j])
            if 1 < px < w - 1 and 1 < py < h - 1:
                diff = np.array([hm[py, px + 1] - hm[py, px - 1], hm[py + 1, px] - hm[py - 1, px]])
                coords[n, j] += np.sign(diff) * 0.25
    image_points = np.zeros_like(coords)
    for n in range(b):
        back = affine_transform(centers[n], scales[n], (w, h), inverse=True)
        image_points[n] = coords[n] @ back[:, :2].T + back[:, 2]
    return image_points, values


def predict(network, image: np.ndarray, boxes, input_size, flip_pairs, padding: float = 1.25):
    """Their test path for ``boxes`` ``(x, y, w, h)`` of one uint8 RGB image, flip test on:
    ``[N, K, 2]`` image keypoints and ``[N, K]`` scores."""
    aspect = input_size[1] / input_size[0]
    centers, scales = zip(*(box_to_center_scale(box, aspect, padding) for box in boxes),
                          strict=True)
    crops = np.stack([crop(image, c, s, input_size) for c, s in zip(centers, scales,
                                                                     strict=True)])
    crops = crops.astype(np.float32)
    heatmaps = network(crops)
    mirrored = network(np.ascontiguousarray(crops[:, :, ::-1]))
    merged = 0.5 * (heatmaps + flip_back(mirrored, flip_pairs))
    return final_preds(merged, np.stack(centers), np.stack(scales))
