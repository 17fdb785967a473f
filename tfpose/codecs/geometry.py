"""The one affine transform between image, model-input and heatmap coordinates.

Coordinate convention (used by the whole library): pixel centres sit at integer coordinates, so
pixel ``(i, j)`` covers ``[i - 0.5, i + 0.5] x [j - 0.5, j + 0.5]``, as in OpenCV and TensorFlow's
image transforms. A person is described by a box ``centre`` (x, y) and ``size`` (w, h) in image
pixels; :func:`affine_matrix` maps the box's edges onto the edges of an output grid of
``output_size = (H, W)`` pixels. Because the input crop and the heatmap are both made from the
same box, they stay aligned at any stride: ``x_heatmap = (x_input + 0.5) / stride - 0.5``, and a
horizontal flip is ``x -> W - 1 - x`` in either grid (no one-pixel shift is needed).

Two conventions place a box on a grid (``convention``; :data:`CONVENTIONS`):

* ``"tfpose"`` (the library's, every model tfpose trains): the box's edges onto the grid's pixel
  edges, so the box centre lands on ``((W - 1) / 2, (H - 1) / 2)``; the heatmap and input grids
  of a crop are aligned at their edges (``x_heatmap = (x_input + 0.5) / stride - 0.5``).
* ``"msra"`` (deep-high-resolution-net.pytorch and human-pose-estimation.pytorch, whose
  ``get_affine_transform`` maps the box centre onto ``(W / 2, H / 2)``; mmpose's
  ``MSRAHeatmap`` codec follows it): heatmap pixel ``j`` is input pixel ``j * stride``, and
  their flip is ``x -> W - x``. The weights of HRNet and SimpleBaseline were trained under it,
  so an imported model is cropped and decoded with it (1.5 input pixels from tfpose's at stride
  4, a bias of about 1-2 AP).

Both scale a box of ``size`` onto ``W`` pixels by ``W / size`` (and likewise in y).

All functions are TensorFlow ops, batched over leading dimensions, so the same code runs inside
``tf.data`` and, eagerly, when predictions are mapped back to the image.
"""

from __future__ import annotations

import math

import tensorflow as tf

CONVENTIONS = ("tfpose", "msra")


def check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    return convention


def grid_centre(size: float, convention: str = "tfpose") -> float:
    """Where a box centre lands on a grid ``size`` pixels wide (or high) under ``convention``."""
    return (size - 1.0) / 2.0 if check_convention(convention) == "tfpose" else size / 2.0


def grid_to_grid(points, from_size, to_size, convention: str = "tfpose"):
    """``[..., 2]`` (x, y) points on one grid of a crop -> another grid of the same crop (e.g.
    heatmap -> input pixels), grids ``(H, W)``: ``x_to = (x_from - c_from) * W_to / W_from +
    c_to`` with the centres of :func:`grid_centre`. Works on numpy arrays and tensors."""
    (fh, fw), (th, tw) = ((float(v) for v in from_size), (float(v) for v in to_size))
    x = (points[..., 0] - grid_centre(fw, convention)) * (tw / fw) + grid_centre(tw, convention)
    y = (points[..., 1] - grid_centre(fh, convention)) * (th / fh) + grid_centre(th, convention)
    return x, y


def box_to_center_size(boxes, aspect_ratio: float, padding: float = 1.25):
    """Turn ``[..., 4]`` boxes ``(x, y, w, h)`` into centres and sizes at ``aspect_ratio`` (w / h).

    The shorter side is extended to the model's aspect ratio (so the crop is not distorted), then
    both sides are scaled by ``padding`` to keep some context around the person.
    """
    boxes = tf.convert_to_tensor(boxes, tf.float32)
    x, y, w, h = tf.unstack(boxes, axis=-1)
    center = tf.stack([x + 0.5 * w, y + 0.5 * h], axis=-1)
    w, h = tf.maximum(w, 1.0), tf.maximum(h, 1.0)
    wider = w > aspect_ratio * h
    w, h = tf.where(wider, w, h * aspect_ratio), tf.where(wider, w / aspect_ratio, h)
    return center, tf.stack([w, h], axis=-1) * padding


def box_covering_keypoints(boxes, keypoints):
    """``[..., 4]`` ``(x, y, w, h)`` boxes grown to include their labelled keypoints.

    COCO boxes sometimes leave out labelled (often occluded, guessed) joints; cropped from the
    bare box, such a joint falls off the target heatmap and loses its supervision. Training
    crops (and the codec check that mirrors them) use these boxes; evaluation on ground-truth
    boxes keeps the annotation boxes: a model is not given the keypoints.

    Args:
      boxes: ``[..., 4]`` float32.
      keypoints: ``[..., K, 3]`` float32 ``(x, y, visibility)``; visibility 0 is not labelled.
    """
    boxes = tf.convert_to_tensor(boxes, tf.float32)
    keypoints = tf.convert_to_tensor(keypoints, tf.float32)
    labelled = (keypoints[..., 2] > 0)[..., None]
    points = keypoints[..., :2]
    low = tf.reduce_min(tf.where(labelled, points, math.inf), axis=-2)
    high = tf.reduce_max(tf.where(labelled, points, -math.inf), axis=-2)
    x1y1, x2y2 = boxes[..., :2], boxes[..., :2] + boxes[..., 2:]
    grown_low, grown_high = tf.minimum(x1y1, low), tf.maximum(x2y2, high)
    grown = tf.concat([grown_low, grown_high - grown_low], axis=-1)
    # Leave boxes that need no growing bit-identical (x + w - x is not exact in float32).
    inside = tf.reduce_all((x1y1 <= low) & (grown_high <= x2y2), axis=-1, keepdims=True)
    return tf.where(inside, boxes, grown)


def whole_image_center_size(image_size, output_size, convention: str = "tfpose"):
    """Centre and size that fit a whole ``(H, W)`` image into an ``(H, W)`` output grid.

    The image keeps its aspect ratio, is centred, and the unused part of the output is padding
    (the bottom-up view of an image). Tensors of shape ``[..., 2]`` (x, y) and (w, h). Under
    ``"msra"`` the centre is HigherHRNet's whole pixel ``(int(W / 2 + 0.5), int(H / 2 + 0.5))``
    (``get_multi_scale_size``, which LitePose's test code calls); the size is the same.
    """
    image_size = tf.cast(tf.convert_to_tensor(image_size), tf.float32)
    height, width = image_size[..., 0], image_size[..., 1]
    # The image's pixel edges run from -0.5 to W - 0.5: that is the box to fit.
    box = tf.stack([tf.fill(tf.shape(width), -0.5), tf.fill(tf.shape(height), -0.5), width,
                    height], axis=-1)
    center, size = box_to_center_size(box, output_size[1] / output_size[0], padding=1.0)
    if check_convention(convention) == "msra":
        center = tf.floor(tf.stack([width, height], axis=-1) / 2.0 + 0.5)
    return center, size


def affine_matrix(center, size, rotation, output_size, flip=False,
                  convention: str = "tfpose"):
    """Image -> output affine matrices ``[..., 2, 3]``.

    Args:
      center: ``[..., 2]`` box centre (x, y) in image pixels.
      size: ``[..., 2]`` box size (w, h) in image pixels; mapped onto the whole output grid.
      rotation: ``[...]`` degrees; positive turns the person counter-clockwise in the output.
      output_size: ``(H, W)`` of the output grid (model input or heatmap).
      flip: ``[...]`` bool; mirror the output horizontally about the box centre (``x -> W - 1 -
        x`` under ``"tfpose"``, ``x -> W - x`` under ``"msra"``).
      convention: where the box centre lands (module docstring).
    """
    center = tf.convert_to_tensor(center, tf.float32)
    size = tf.convert_to_tensor(size, tf.float32)
    theta = tf.convert_to_tensor(rotation, tf.float32) * (math.pi / 180.0)
    out_h, out_w = float(output_size[0]), float(output_size[1])
    kx, ky = out_w / size[..., 0], out_h / size[..., 1]
    cos, sin = tf.cos(theta), tf.sin(theta)
    # u = K R (p - c) + o, with R rotating counter-clockwise on screen (y points down).
    a, b = kx * cos, kx * sin
    c, d = -ky * sin, ky * cos
    cx, cy = center[..., 0], center[..., 1]
    ox, oy = grid_centre(out_w, convention), grid_centre(out_h, convention)
    tx = ox - (a * cx + b * cy)
    ty = oy - (c * cx + d * cy)
    mirror = tf.cast(tf.broadcast_to(flip, tf.shape(a)), tf.float32)
    sign = 1.0 - 2.0 * mirror
    a, b, tx = sign * a, sign * b, sign * tx + mirror * (2.0 * ox)
    rows = [tf.stack([a, b, tx], axis=-1), tf.stack([c, d, ty], axis=-1)]
    return tf.stack(rows, axis=-2)


def invert_affine(matrix):
    """Inverse of ``[..., 2, 3]`` affine matrices."""
    matrix = tf.convert_to_tensor(matrix, tf.float32)
    linear, shift = matrix[..., :2], matrix[..., 2:]
    inverse = tf.linalg.inv(linear)
    return tf.concat([inverse, -tf.matmul(inverse, shift)], axis=-1)


def compose_affine(outer, inner):
    """``[..., 2, 3]`` matrices of ``outer`` applied after ``inner``."""
    outer = tf.convert_to_tensor(outer, tf.float32)
    inner = tf.convert_to_tensor(inner, tf.float32)
    linear = tf.matmul(outer[..., :2], inner[..., :2])
    shift = tf.matmul(outer[..., :2], inner[..., 2:]) + outer[..., 2:]
    return tf.concat([linear, shift], axis=-1)


def apply_affine(matrix, points):
    """Map ``[..., N, 2]`` points with ``[..., 2, 3]`` matrices."""
    matrix = tf.convert_to_tensor(matrix, tf.float32)
    points = tf.convert_to_tensor(points, tf.float32)
    return tf.linalg.matvec(matrix[..., None, :, :2], points) + matrix[..., None, :, 2]


def warp_image(image, matrix, output_size, fill_value: float = 0.0):
    """Crop ``image`` ``[H, W, C]`` with the image -> output ``matrix`` ``[2, 3]`` (bilinear)."""
    inverse = invert_affine(matrix)  # the op samples the input at inverse-mapped output pixels
    transform = tf.concat([tf.reshape(inverse, [6]), tf.zeros([2])], axis=0)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(image, tf.float32)[None],
        transforms=transform[None],
        output_shape=tf.constant(output_size, tf.int32),
        fill_value=fill_value,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return warped[0]
