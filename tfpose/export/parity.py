"""Keras <-> converted-model parity, measured the way it matters for a pose model.

Binary networks amplify tiny float differences: a pre-sign value within rounding of 0 can take
the other sign in the converted model, and one flipped sign changes everything downstream. So
the comparison reports what an app uses, decoded keypoint positions, next to the raw heatmap
difference and the share of images that agree to float rounding, and
:func:`rounding_sensitivity` measures how far a model disagrees with itself under rounding-sized
changes: the floor against which a converted model's disagreement is judged. Models should be
compared after some training (or at least BatchNorm statistics from real-looking images): with
initial statistics activations are far from normalised and ties are everywhere.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from tfpose.codecs.heatmap import HeatmapCodec

CONFIDENT = 0.3  # a keypoint whose (activated) reference peak reaches this has a clear peak


def heatmap_parity(reference: np.ndarray, candidate: np.ndarray, codec: HeatmapCodec,
                   tolerance_px: float = 1.0) -> dict:
    """Compare two batches of raw outputs ``[N, H, W, K]``.

    Returns the fraction of keypoints whose decoded positions agree within ``tolerance_px``
    heatmap pixels (``keypoint_agreement``) and the same over the keypoints whose reference peak
    is clear, activated value >= :data:`CONFIDENT` (``confident_agreement``: where a flat
    heatmap has no peak, any argmax is as good as another), the largest distance
    (``max_keypoint_shift_px``), the largest and the 99th-percentile absolute heatmap difference
    relative to the reference's range (``max_relative_error``, ``p99_relative_error``) and the
    fraction of images whose outputs agree to float rounding (relative error <= 1e-3,
    ``images_identical``): one near-zero value binarised the other way changes a whole image,
    so a per-image count says more than a maximum.
    """
    reference, candidate = np.asarray(reference), np.asarray(candidate)
    if reference.shape != candidate.shape:
        raise ValueError(f"output shapes differ: {reference.shape} vs {candidate.shape}")
    # Differences of what the decoder sees: heatmaps, not logits (a logit of -20 or -30 is the
    # same empty background).
    reference, candidate = codec.activate(reference), codec.activate(candidate)
    activated = dataclasses.replace(codec, output="gaussian")
    ref_points, ref_scores = activated.decode(reference, "argmax")
    cand_points, _ = activated.decode(candidate, "argmax")
    shift = np.linalg.norm(ref_points - cand_points, axis=-1)
    scale = max(float(np.ptp(reference)), 1e-12)
    error = np.abs(reference - candidate)
    per_image = error.reshape(len(reference), -1).max(axis=1) / scale
    confident = ref_scores >= CONFIDENT
    return {
        "images_identical": float((per_image <= 1e-3).mean()),
        "keypoint_agreement": float((shift <= tolerance_px).mean()),
        "confident_agreement": float((shift[confident] <= tolerance_px).mean())
        if confident.any() else 1.0,
        "confident_keypoints": float(confident.mean()),
        "max_keypoint_shift_px": float(shift.max()),
        "max_relative_error": float(error.max() / scale),
        "p99_relative_error": float(np.percentile(error, 99) / scale),
    }


def nudge(values: np.ndarray, ulps: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """``values`` moved by ``ulps`` representable float32 steps: a rounding-sized change.

    Up for every element, or, with ``rng``, up or down at random per element.
    """
    nudged = np.asarray(values, dtype=np.float32)
    direction = (np.float32(np.inf) if rng is None
                 else np.where(rng.random(nudged.shape) < 0.5, -np.inf, np.inf).astype(np.float32))
    for _ in range(ulps):
        nudged = np.nextafter(nudged, direction)
    return nudged


def rounding_sensitivity(model: tf.keras.Model, images: np.ndarray, codec: HeatmapCodec,
                         trials: int = 3, seed: int = 0, batch_size: int = 16) -> dict:
    """How much a model disagrees *with itself* when its arithmetic changes by float rounding.

    Each trial moves every real-valued weight (BatchNorm statistics and scales, float convs,
    shifts; binary kernels keep their signs) one float32 step up or down at random and runs the
    model again. A converted model computes every layer with its own rounding (folded
    BatchNorm, other summation orders), so the disagreement these trials cause is the floor no
    converted binary model can be expected to beat: a pre-sign value within rounding of 0 is a
    coin toss, and one flipped sign changes everything downstream of it. Returns the worst
    :func:`heatmap_parity` figures over the trials; the model's weights are restored.
    """
    rng = np.random.default_rng(seed)
    weights = model.get_weights()
    reference = model.predict(images, batch_size=batch_size, verbose=0)
    runs = []
    try:
        for _ in range(trials):
            model.set_weights([nudge(w, 1, rng) if w.dtype == np.float32 else w
                               for w in weights])
            runs.append(heatmap_parity(
                reference, model.predict(images, batch_size=batch_size, verbose=0), codec))
    finally:
        model.set_weights(weights)
    return {
        "images_identical": min(r["images_identical"] for r in runs),
        "keypoint_agreement": min(r["keypoint_agreement"] for r in runs),
        "max_keypoint_shift_px": max(r["max_keypoint_shift_px"] for r in runs),
        "max_relative_error": max(r["max_relative_error"] for r in runs),
    }


# Stated tolerances of a converted file against its Keras model. fp32 and fp16: the decoded
# keypoints of all joints. int8: the joints with a clear reference peak and the 99th percentile
# of the heatmap error (post-training quantisation adds noise of about one quantisation step
# everywhere; on a flat heatmap that moves an argmax that means nothing). Measured on a trained
# FasterPose (128x96, `tfpose convert`, 32 synthetic validation crops): fp32 1.0 of keypoints and
# 6e-7 of the output range; fp16 0.998 and 5e-4 (up to 5.3e-3 on SimpleBaseline,
# tests/export/test_float_parity.py); int8 0.98 of the clear keypoints, p99 error 4e-3.
TOLERANCES = {
    "fp32": {"keypoint_agreement": 0.99, "max_relative_error": 1e-4},
    "fp16": {"keypoint_agreement": 0.98, "max_relative_error": 1e-2},
    "int8": {"confident_agreement": 0.90, "p99_relative_error": 5e-2},
    # Binary models (LCE): a pre-sign value within rounding of 0 takes either sign, one flip
    # changes everything downstream, so whole binary models agree statistically and a bound
    # must hold for every model: a sanity bound that a wrong conversion (other padding, a
    # mis-folded BatchNorm) fails. Measured (tests/export/test_parity.py, 16 crops): reduced
    # BiHRNets after 4 epochs 0.50-0.83 of keypoints, the main job's trained student 0.98,
    # hourglasses 0.9-1.0; a wrong pairing of outputs and images (chance) 0.02-0.04.
    # rounding_sensitivity goes in the report beside it: it says how much of the disagreement
    # the model's own rounding explains, but reads 1.0 on models LCE still disagrees with.
    "binary": {"keypoint_agreement": 0.25},
}


def output_parity(reference, candidate, info) -> dict:
    """:func:`heatmap_parity` of a model's outputs of any kind described by ``info``
    (:class:`tfpose.codecs.model_info.ModelInfo`): top-down heatmaps, bottom-up outputs
    (heatmap channels of every stride; the worst figures), or in-graph decoded keypoints
    ``[N, K, 3]`` (agreement within one heatmap pixel's worth of input pixels)."""
    if info.decoded:
        codec = info.heatmap_codec()
        stride = codec.input_size[0] / codec.heatmap_size[0]
        reference, candidate = np.asarray(reference), np.asarray(candidate)
        shift = np.linalg.norm(reference[..., :2] - candidate[..., :2], axis=-1) / stride
        return {"keypoint_agreement": float((shift <= 1.0).mean()),
                "max_keypoint_shift_px": float(shift.max()),
                "max_score_error": float(np.abs(reference[..., 2] - candidate[..., 2]).max())}
    if info.kind == "topdown":
        return heatmap_parity(reference, candidate, info.heatmap_codec())
    codec, k = info.bottomup_codec(), info.keypoint_set.num_keypoints
    parts = [heatmap_parity(np.asarray(r)[..., :k], np.asarray(c)[..., :k],
                            codec.heatmap_codec(stride))
             for r, c, stride in zip(reference, candidate, codec.strides, strict=True)]
    worst = {key: min(p[key] for p in parts) for key in (
        "images_identical", "keypoint_agreement", "confident_agreement", "confident_keypoints")}
    worst.update({key: max(p[key] for p in parts) for key in (
        "max_keypoint_shift_px", "max_relative_error", "p99_relative_error")})
    return worst


def judge(parity: dict, tolerance: dict) -> list[str]:
    """The tolerances ``parity`` misses, as readable lines (empty: it passes)."""
    failures = []
    for key, bound in tolerance.items():
        if key not in parity:
            continue
        upper = key.endswith(("_error", "_px"))  # errors and shifts are bounded from above
        if parity[key] > bound if upper else parity[key] < bound:
            relation = "<=" if upper else ">="
            failures.append(f"{key} {parity[key]:.4g} (needs {relation} {bound})")
    return failures
