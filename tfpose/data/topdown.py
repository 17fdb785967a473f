"""Top-down input pipeline (``tf.data``): one person crop and its target heatmaps per example.

read + check bytes -> decode -> box to centre/size (model aspect ratio, 1.25 padding)
-> augmentation (scale, rotation, flip with left/right swap, half body; training only)
-> affine crop to the input size -> codec targets at the heatmap size.

Images leave the pipeline as float32 RGB in [0, 255]: our models normalise inside the graph, so a
phone app feeds camera pixels as they are and int8 models can take uint8 input directly.

Every example is a dict:

* ``image`` ``[H, W, 3]``, ``heatmaps`` ``[h, w, K]``, ``target_weight`` ``[K]``;
* ``center``, ``size`` ``[2]`` and ``rotation``, ``flip`` (the crop actually used, to map
  predictions back), ``image_id``, ``score`` and the image-space ``keypoints`` ``[K, 3]``.

Randomness is stateless and seeded per example (``tf.data.Dataset.random``), so a pipeline built
with ``deterministic=True`` and the same seed yields the same batches on every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tensorflow as tf

from tfpose.codecs import geometry
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.config import NO_AUGMENT, AugmentConfig
from tfpose.data import images
from tfpose.data.records import PersonRecords

if TYPE_CHECKING:
    from tfpose.data.prepared import PreparedSplit

AUTOTUNE = tf.data.AUTOTUNE


def topdown_dataset(
    records: PersonRecords | PreparedSplit,
    codec: HeatmapCodec,
    *,
    batch_size: int = 32,
    train: bool = False,
    augment: AugmentConfig | None = None,
    seed: int = 0,
    deterministic: bool | None = None,
    repeat: bool = False,
    cover_keypoints: bool | None = None,
) -> tf.data.Dataset:
    """Batches of person crops and targets from ``records``.

    Args:
      records: persons from one of the readers (:mod:`tfpose.data.coco`, ...), or a prepared
        split (:class:`tfpose.data.prepared.PreparedSplit`) whose persons are read the same way.
      codec: fixes the input and heatmap sizes and encodes targets.
      batch_size: examples per batch; training drops the last partial batch.
      train: shuffle and augment (with ``augment``, default :class:`AugmentConfig`).
      augment: augmentation settings; ignored when ``train`` is False.
      seed: seed of shuffling and augmentation.
      deterministic: keep element order under parallel map (default: not when training).
      repeat: repeat forever (each epoch draws new augmentations).
      cover_keypoints: grow each box to include its labelled keypoints (default: when
        training; see :func:`tfpose.codecs.geometry.box_covering_keypoints`).
    """
    if len(records) == 0:
        raise ValueError("no person records to build a dataset from")
    augment = (augment or AugmentConfig()) if train else NO_AUGMENT
    deterministic = (not train) if deterministic is None else deterministic
    cover_keypoints = train if cover_keypoints is None else cover_keypoints
    example = _example_fn(records, codec, augment, cover_keypoints)

    ds = images.checked_image_rows(records, shuffle=train, repeat=repeat, seed=seed,
                                   deterministic=deterministic)
    ds = ds.map(example, num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    ds = ds.ignore_errors()  # damage only decoding reveals: skip the example, not the epoch
    ds = ds.batch(batch_size, drop_remainder=train)
    return ds.prefetch(AUTOTUNE)


def topdown_targets(records: PersonRecords, codec: HeatmapCodec, batch_size: int = 256, *,
                    cover_keypoints: bool = True):
    """Targets as the training pipeline makes them (without augmentation), without reading
    images: for codec checks."""
    if cover_keypoints:
        records = records.with_boxes_covering_keypoints()

    def targets(row):
        center, size = codec.box_to_center_size(row["box"])
        heatmaps, weight = codec.encode_from_image(row["keypoints"], center, size)
        return {"heatmaps": heatmaps, "target_weight": weight, "center": center, "size": size,
                "image_id": row["image_id"], "score": row["score"]}

    ds = tf.data.Dataset.from_tensor_slices(records.columns())
    return ds.map(targets, num_parallel_calls=AUTOTUNE).batch(batch_size).prefetch(AUTOTUNE)


def _example_fn(records, codec: HeatmapCodec, augment: AugmentConfig, cover_keypoints: bool):
    keypoint_set = records.keypoint_set
    flip_index = tf.constant(keypoint_set.flip_index, tf.int32)
    upper = tf.constant(
        [i in keypoint_set.upper_body for i in range(keypoint_set.num_keypoints)], tf.bool)

    def example(row, contents, ok, example_seed):
        keypoints = row["keypoints"]
        box = row["box"]
        if cover_keypoints:
            box = geometry.box_covering_keypoints(box, keypoints)
        center, size = codec.box_to_center_size(box)
        seeds = tf.random.experimental.stateless_split(
            tf.stack([example_seed, tf.constant(0, tf.int64)]), num=5)
        center, size = _half_body(keypoints, center, size, upper, augment, codec, seeds[0])
        size, rotation, flip = _jitter(size, augment, seeds[1:4])
        keypoints = tf.cond(flip, lambda: tf.gather(keypoints, flip_index), lambda: keypoints)
        image = images.decode_rgb(contents)
        crop = geometry.warp_image(
            image, codec.image_to_input_matrix(center, size, rotation, flip), codec.input_size)
        heatmaps, weight = codec.encode_from_image(keypoints, center, size, rotation, flip)
        return {
            "image": crop, "heatmaps": heatmaps, "target_weight": weight,
            "center": center, "size": size, "rotation": rotation, "flip": flip,
            "image_id": row["image_id"], "score": row["score"], "keypoints": row["keypoints"],
        }

    return example


def _jitter(size, augment: AugmentConfig, seeds):
    """Random scale, rotation and flip (HRNet's recipe: clipped normals)."""
    sf, rf = augment.scale_factor, augment.rotation_factor
    scale = tf.clip_by_value(
        1.0 + sf * tf.random.stateless_normal([], seeds[0]), 1.0 - sf, 1.0 + sf)
    draws = tf.random.stateless_uniform([2], seeds[1])
    angle = tf.clip_by_value(rf * tf.random.stateless_normal([], seeds[2]), -2 * rf, 2 * rf)
    rotation = tf.where(draws[0] < augment.rotation_prob, angle, 0.0)
    flip = draws[1] < augment.flip_prob
    return size * scale, rotation, flip


def _half_body(keypoints, center, size, upper, augment: AugmentConfig, codec, seed):
    """With some probability, re-centre the box on the upper or the lower body's joints."""
    labelled = keypoints[:, 2] > 0
    draws = tf.random.stateless_uniform([2], seed)
    want_upper = draws[1] < 0.5
    part = labelled & tf.where(want_upper, upper, ~upper)
    # Fall back to the other half when the chosen one has fewer than two labelled joints.
    part = tf.cond(tf.reduce_sum(tf.cast(part, tf.int32)) >= 2, lambda: part,
                   lambda: labelled & tf.where(want_upper, ~upper, upper))
    enough = tf.reduce_sum(tf.cast(labelled, tf.int32)) > augment.half_body_min_keypoints
    use = (draws[0] < augment.half_body_prob) & enough & (
        tf.reduce_sum(tf.cast(part, tf.int32)) >= 2)

    def part_box():
        points = tf.boolean_mask(keypoints[:, :2], part)
        low, high = tf.reduce_min(points, axis=0), tf.reduce_max(points, axis=0)
        box = tf.concat([low, high - low], axis=0)
        return geometry.box_to_center_size(box, codec.aspect_ratio, augment.half_body_padding)

    return tf.cond(use, part_box, lambda: (center, size))
