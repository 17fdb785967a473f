"""Keras <-> converted-model parity, measured the way it matters for a pose model.

Binary networks amplify tiny float differences: a value a hair from 0 can take the other sign in
the converted model, and with BatchNorm statistics from random initialisation (mean 0, variance 1)
activations are far from normalised, so such flips are common and cascade. A meaningful check
therefore (1) calibrates BatchNorm moving statistics on real-looking images first (a few forward
passes in training mode; weights untouched), and (2) compares what an app uses: decoded keypoint
positions, alongside the raw heatmap difference.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfpose.codecs.heatmap import HeatmapCodec


def calibrate_batch_norm(model: tf.keras.Model, images: np.ndarray, *, steps: int = 30,
                         batch_size: int = 8, seed: int = 0) -> None:
    """Update BatchNorm moving statistics from ``images`` without changing any weight.

    With momentum 0.9, 30 steps leave (0.9^30 =) 4% of the initial statistics.
    """
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        batch = images[rng.choice(len(images), min(batch_size, len(images)), replace=False)]
        model(batch, training=True)  # BN updates its moving averages; no optimiser, no step


def heatmap_parity(reference: np.ndarray, candidate: np.ndarray, codec: HeatmapCodec,
                   tolerance_px: float = 1.0) -> dict:
    """Compare two batches of raw outputs ``[N, H, W, K]``.

    Returns the fraction of keypoints whose decoded positions agree within ``tolerance_px``
    heatmap pixels (``keypoint_agreement``), the largest distance (``max_keypoint_shift_px``),
    the largest absolute heatmap difference relative to the reference's range
    (``max_relative_error``) and the fraction of images whose outputs agree to float rounding
    (relative error <= 1e-3, ``images_identical``): one near-zero value binarised the other way
    changes a whole image, so a per-image count says more than a maximum.
    """
    reference, candidate = np.asarray(reference), np.asarray(candidate)
    if reference.shape != candidate.shape:
        raise ValueError(f"output shapes differ: {reference.shape} vs {candidate.shape}")
    ref_points, _ = codec.decode(reference, "argmax")
    cand_points, _ = codec.decode(candidate, "argmax")
    shift = np.linalg.norm(ref_points - cand_points, axis=-1)
    scale = max(float(np.ptp(reference)), 1e-12)
    per_image = np.abs(reference - candidate).reshape(len(reference), -1).max(axis=1) / scale
    return {
        "images_identical": float((per_image <= 1e-3).mean()),
        "keypoint_agreement": float((shift <= tolerance_px).mean()),
        "max_keypoint_shift_px": float(shift.max()),
        "max_relative_error": float(np.abs(reference - candidate).max() / scale),
    }
