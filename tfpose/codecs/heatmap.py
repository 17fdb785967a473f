"""Heatmap codec: the one owner of keypoints <-> heatmaps, for training targets and for decoding.

Conventions (shared with :mod:`tfpose.codecs.geometry`):

* Pixel centres at integer coordinates. Heatmaps are ``[B, H, W, K]`` (NHWC); a keypoint at
  heatmap coordinate ``(x, y)`` is encoded as an *unbiased* Gaussian centred exactly on
  ``(x, y)`` (not on the rounded pixel), ``exp(-((u - x)^2 + (v - y)^2) / (2 sigma^2))`` with peak
  1 at the keypoint. That exactness is what lets the DARK decoder recover sub-pixel positions.
* A keypoint gets target weight 1 when it is labelled (visibility > 0) and lies on the heatmap
  (within its pixel edges); otherwise its heatmap is all zeros and its weight 0.
* Model outputs are raw. ``output="gaussian"`` models regress the heatmap itself (MSE, AWing);
  ``output="sigmoid"`` models emit logits trained with sigmoid / regressive cross-entropy
  (FasterPose, the binary hourglass) against the same targets, and the decoder applies the
  sigmoid first. Scores are the (activated) heatmap value at the decoded peak.

Decoders: ``argmax``; ``quarter`` (argmax + 0.25 px toward the higher neighbour, the classic
baseline); ``dark`` (Zhang et al., CVPR 2020: Gaussian modulation of the heatmap, then a
second-order Taylor step on the log-heatmap around the peak).

Conventions (``convention``, :mod:`tfpose.codecs.geometry`): a codec crops, decodes, merges the
flip test and maps back to the image under the convention its model's weights were trained
with. ``"tfpose"`` (models tfpose trains) is the one above. ``"msra"`` is the HRNet /
SimpleBaseline authors' code (``lib/core/inference.py``, ``lib/utils/transforms.py`` of
deep-high-resolution-net.pytorch; mmpose's ``MSRAHeatmap``), which imported weights were trained
and published under: the box centre lands on ``(W / 2, H / 2)`` of the crop and the heatmap,
heatmap pixel ``j`` is input pixel ``j * stride``; their flip (``x -> W - x``) makes the flip
test shift the mirrored-back heatmaps one pixel right (``SHIFT_HEATMAP``); their decoder moves
a peak a quarter pixel only when it is at least two pixels from every border
(``1 < px < W - 1``) and puts keypoints whose peak is not positive at heatmap ``(0, 0)``.

Encoding is written in TF ops (it runs inside ``tf.data``); decoding is numpy (evaluation,
inference on the host).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import tensorflow as tf
from scipy.special import expit

from tfpose.codecs import geometry

DECODERS = ("argmax", "quarter", "dark")
OUTPUTS = ("gaussian", "sigmoid")
# The quarter step moves a peak at x only when margin <= x < W - 1 (and likewise in y): tfpose
# wherever both neighbours exist, the MSRA code only from x = 2 (its ``1 < px``).
QUARTER_MARGIN = {"tfpose": 1, "msra": 2}


@dataclass(frozen=True)
class HeatmapCodec:
    """Encode keypoints into Gaussian target heatmaps and decode heatmaps back to keypoints.

    Args:
      input_size: model input ``(H, W)`` in pixels.
      heatmap_size: heatmap ``(H, W)``; any size works since both grids come from the same box.
      sigma: Gaussian standard deviation in heatmap pixels (2 at 64x48, the usual choice).
      output: ``"gaussian"`` (the model regresses heatmaps) or ``"sigmoid"`` (logits).
      decoder: default decoder, one of ``argmax``, ``quarter``, ``dark``.
      padding: box enlargement around a person before cropping (1.25 is the common choice).
      convention: ``"tfpose"`` or ``"msra"`` (module docstring): the pixel conventions the
        model's weights were trained with.
    """

    input_size: tuple[int, int] = (256, 192)
    heatmap_size: tuple[int, int] = (64, 48)
    sigma: float = 2.0
    output: str = "gaussian"
    decoder: str = "dark"
    padding: float = 1.25
    convention: str = "tfpose"

    def __post_init__(self):
        geometry.check_convention(self.convention)
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {self.decoder!r}")
        if min(self.heatmap_size) < 3 or min(self.input_size) < 3:
            raise ValueError(
                f"sizes too small: input {self.input_size}, heatmap {self.heatmap_size}")
        if self.sigma <= 0:
            raise ValueError(f"sigma must be positive, got {self.sigma}")

    @property
    def aspect_ratio(self) -> float:
        return self.input_size[1] / self.input_size[0]

    # ---- geometry ------------------------------------------------------------------------
    def box_to_center_size(self, boxes):
        """``[..., 4]`` (x, y, w, h) boxes -> centre, size at the model's aspect ratio + padding."""
        return geometry.box_to_center_size(boxes, self.aspect_ratio, self.padding)

    def image_to_heatmap_matrix(self, center, size, rotation=0.0, flip=False):
        return geometry.affine_matrix(center, size, rotation, self.heatmap_size, flip,
                                      self.convention)

    def image_to_input_matrix(self, center, size, rotation=0.0, flip=False):
        return geometry.affine_matrix(center, size, rotation, self.input_size, flip,
                                      self.convention)

    def heatmap_to_input(self, points):
        """``[..., 2]`` heatmap pixels -> ``[..., 2]`` input pixels of the same crop (numpy
        arrays or tensors)."""
        x, y = geometry.grid_to_grid(points, self.heatmap_size, self.input_size,
                                     self.convention)
        return tf.stack([x, y], -1) if tf.is_tensor(points) else np.stack([x, y], -1)

    # ---- encode (TF) ---------------------------------------------------------------------
    def encode(self, keypoints, visible):
        """Target heatmaps from keypoints already in heatmap coordinates.

        Args:
          keypoints: ``[..., K, 2]`` (x, y) in heatmap pixels.
          visible: ``[..., K]`` bool or 0/1: whether each keypoint is labelled.
        Returns:
          heatmaps ``[..., H, W, K]`` float32 in [0, 1] and target weights ``[..., K]`` float32.
        """
        keypoints = tf.convert_to_tensor(keypoints, tf.float32)
        height, width = self.heatmap_size
        x, y = keypoints[..., 0], keypoints[..., 1]
        on_map = (x >= -0.5) & (x <= width - 0.5) & (y >= -0.5) & (y <= height - 0.5)
        weight = tf.cast(tf.cast(visible, tf.bool) & on_map, tf.float32)
        two_sigma_sq = 2.0 * self.sigma**2
        # A 2-D Gaussian is separable: an outer product of two 1-D profiles is cheaper than a
        # dense distance map and exact.
        gx = tf.exp(-tf.square(tf.range(width, dtype=tf.float32) - x[..., None]) / two_sigma_sq)
        gy = tf.exp(-tf.square(tf.range(height, dtype=tf.float32) - y[..., None]) / two_sigma_sq)
        heatmaps = tf.einsum("...kh,...kw->...hwk", gy * weight[..., None], gx)
        return heatmaps, weight

    def encode_from_image(self, keypoints, center, size, rotation=0.0, flip=False):
        """Targets from ``[..., K, 3]`` image keypoints (x, y, visibility) and a person box.

        With ``flip`` the caller must already have swapped left/right keypoints: the mirrored
        output shows the person's left on the other side.
        """
        keypoints = tf.convert_to_tensor(keypoints, tf.float32)
        matrix = self.image_to_heatmap_matrix(center, size, rotation, flip)
        points = geometry.apply_affine(matrix, keypoints[..., :2])
        return self.encode(points, keypoints[..., 2] > 0)

    # ---- decode (numpy) ------------------------------------------------------------------
    def activate(self, outputs: np.ndarray) -> np.ndarray:
        """Raw model outputs -> heatmaps in the [0, 1] sense (identity for Gaussian regression)."""
        outputs = np.asarray(outputs, np.float32)
        if self.output == "sigmoid":
            return expit(outputs)  # no overflow warning for large negative logits
        return outputs

    def decode(self, outputs, decoder: str | None = None):
        """Decode raw outputs ``[N, H, W, K]`` into heatmap coordinates.

        Returns:
          keypoints ``[N, K, 2]`` (x, y) in heatmap pixels and scores ``[N, K]``.
        """
        decoder = decoder or self.decoder
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
        heatmaps = self.activate(outputs)
        if heatmaps.ndim != 4:
            raise ValueError(f"expected heatmaps [N, H, W, K], got shape {heatmaps.shape}")
        maps = np.transpose(heatmaps, (0, 3, 1, 2))  # [N, K, H, W]: one map per row below
        coords, scores = _argmax(maps)
        if self.convention == "msra":  # their get_max_preds: no positive peak, no position
            coords = coords * (scores > 0)[..., None]
        if decoder == "quarter":
            margin = QUARTER_MARGIN[self.convention]
            coords = coords + 0.25 * np.sign(_gradient(maps, coords, margin))
        elif decoder == "dark":
            coords = coords + _dark_offsets(maps, coords, _dark_kernel(self.sigma))
        return coords, scores

    def decode_to_image(self, outputs, center, size, decoder: str | None = None):
        """Decode raw outputs ``[N, H, W, K]`` of crops made from boxes ``center``/``size``
        (``[N, 2]`` each, as returned by :meth:`box_to_center_size`) into image pixels."""
        coords, scores = self.decode(outputs, decoder)
        to_image = geometry.invert_affine(self.image_to_heatmap_matrix(center, size))
        return geometry.apply_affine(to_image, coords).numpy(), scores

    def merge_flip(self, outputs, flipped_outputs, flip_index):
        """Average outputs with those of the horizontally flipped input (flip test).

        ``flipped_outputs`` are mirrored back and their left/right channels swapped first; under
        ``"msra"`` they are also shifted one pixel right, the first column kept
        (``SHIFT_HEATMAP``: their mirrored crop is one pixel off, module docstring).
        """
        unflipped = np.asarray(flipped_outputs)[:, :, ::-1, :][..., np.asarray(flip_index)]
        if self.convention == "msra":
            unflipped = np.concatenate([unflipped[:, :, :1], unflipped[:, :, :-1]], axis=2)
        return 0.5 * (np.asarray(outputs) + unflipped)


def _argmax(maps: np.ndarray):
    n, k, h, w = maps.shape
    flat = maps.reshape(n, k, h * w)
    index = np.argmax(flat, axis=-1)
    scores = np.take_along_axis(flat, index[..., None], axis=-1)[..., 0]
    coords = np.stack([index % w, index // w], axis=-1).astype(np.float32)
    return coords, scores.astype(np.float32)


def _neighbourhood(maps: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """3x3 values around each integer peak, ``[N, K, 3, 3]`` (edge-replicated at borders)."""
    padded = np.pad(maps, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    x = coords[..., 0].astype(int) + 1
    y = coords[..., 1].astype(int) + 1
    n_idx, k_idx = np.indices(x.shape)
    rows = [
        [padded[n_idx, k_idx, y + dy, x + dx] for dx in (-1, 0, 1)] for dy in (-1, 0, 1)
    ]
    return np.moveaxis(np.array(rows), (0, 1), (-2, -1))


def _gradient(maps: np.ndarray, coords: np.ndarray, margin: int = 1) -> np.ndarray:
    """Central difference (d/dx, d/dy) at each peak; zero unless the peak is at least
    ``margin`` pixels from the left and top borders and inside the right and bottom ones."""
    h, w = maps.shape[-2:]
    nb = _neighbourhood(maps, coords)
    grad = np.stack([nb[..., 1, 2] - nb[..., 1, 0], nb[..., 2, 1] - nb[..., 0, 1]], axis=-1)
    x, y = coords[..., 0], coords[..., 1]
    interior = (x >= margin) & (x < w - 1) & (y >= margin) & (y < h - 1)
    return grad * interior[..., None]


def _dark_kernel(sigma: float) -> int:
    # DARK blurs with an 11x11 kernel at sigma 2; scale it with sigma and keep it odd.
    return 2 * int(np.ceil(2.5 * sigma)) + 1


def _dark_offsets(maps: np.ndarray, coords: np.ndarray, kernel: int) -> np.ndarray:
    """Sub-pixel offsets from a Newton step on the log of the Gaussian-modulated heatmap."""
    n, k, h, w = maps.shape
    stacked = np.ascontiguousarray(maps.reshape(n * k, h, w).transpose(1, 2, 0))
    blurred = np.empty_like(stacked)
    # OpenCV filters at most 512 channels at once. Zero padding biases peaks near the border
    # least (reflecting padding mirrors a truncated Gaussian and drags its peak outward).
    for start in range(0, n * k, 512):
        chunk = stacked[..., start : start + 512]
        out = cv2.GaussianBlur(chunk, (kernel, kernel), 0, borderType=cv2.BORDER_CONSTANT)
        blurred[..., start : start + 512] = out.reshape(chunk.shape)
    blurred = blurred.transpose(2, 0, 1).reshape(n, k, h, w)
    # Modulation keeps the original peak height so the log stays comparable across joints.
    peak = maps.reshape(n, k, -1).max(-1)
    blurred_peak = np.maximum(blurred.reshape(n, k, -1).max(-1), 1e-10)
    blurred *= (peak / blurred_peak)[..., None, None]
    logs = np.log(np.maximum(blurred, 1e-10))

    nb = _neighbourhood(logs, coords)
    dx = 0.5 * (nb[..., 1, 2] - nb[..., 1, 0])
    dy = 0.5 * (nb[..., 2, 1] - nb[..., 0, 1])
    dxx = nb[..., 1, 2] - 2 * nb[..., 1, 1] + nb[..., 1, 0]
    dyy = nb[..., 2, 1] - 2 * nb[..., 1, 1] + nb[..., 0, 1]
    dxy = 0.25 * (nb[..., 2, 2] - nb[..., 2, 0] - nb[..., 0, 2] + nb[..., 0, 0])
    det = dxx * dyy - dxy**2
    x, y = coords[..., 0], coords[..., 1]
    # A maximum has a negative-definite Hessian; elsewhere (flat or border peaks) keep argmax.
    usable = (det > 1e-10) & (dxx < 0) & (x > 0) & (x < w - 1) & (y > 0) & (y < h - 1)
    safe_det = np.where(usable, det, 1.0)
    offset_x = -(dyy * dx - dxy * dy) / safe_det
    offset_y = -(dxx * dy - dxy * dx) / safe_det
    offsets = np.stack([offset_x, offset_y], axis=-1) * usable[..., None]
    return np.clip(offsets, -1.0, 1.0).astype(np.float32)
