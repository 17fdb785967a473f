"""Bottom-up input pipeline (``tf.data``): whole images, all their persons, multi-resolution
targets and loss masks, for LitePose / HigherHRNet-style models (associative embedding).

read + check bytes -> decode -> fit the image into the input grid (validation: the whole image,
:func:`tfpose.codecs.geometry.whole_image_center_size`; training: by default its short side, as
LitePose) -> augmentation around that fit (random scale, rotation, translation, flip with
left/right swap; training only) -> one affine warp to the input size -> codec targets
(:class:`tfpose.codecs.associative_embedding.BottomUpCodec`) and one loss mask per output stride.

Every batch is a dict (``s`` runs over ``codec.strides``, e.g. 4 and 2):

* ``image`` ``[B, H, W, 3]`` float32 RGB in [0, 255] (``(H, W) = codec.input_size``);
* ``heatmaps_s{s}`` ``[B, H/s, W/s, K]`` target heatmaps;
* ``masks_s{s}`` ``[B, H/s, W/s, 1]`` float32 loss weights: 1 = counts, 0 = ignore (crowd
  regions, persons without keypoints, and the padding outside the image after the affine);
  the trailing 1 broadcasts against the heatmaps;
* ``joints`` ``[B, max_people, K, 2]`` int32 (flat index on the stride ``strides[0]`` map,
  valid flag) for the tag loss;
* ``image_id`` ``[B]``; ``image_size`` ``[B, 2]`` (height, width); ``center``, ``size``
  ``[B, 2]``, ``rotation`` ``[B]`` and ``flip`` ``[B]``: the affine actually used. Predictions at
  stride ``s`` map back to the image with the inverse of
  ``geometry.affine_matrix(center, size, rotation, codec.output_size(s), flip)``.

Persons and keypoints are flipped, warped and encoded in TF ops; the ignore mask is decoded from
its RLE string (:func:`tfpose.data.image_records.rle_to_mask`) and warped with the same affine
as the image at each output resolution (bilinear, then thresholded at 0.5, as HigherHRNet does
with ``cv2.warpAffine``). Randomness is stateless and seeded per example, so
``deterministic=True`` and the same seed give the same batches on every run.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import tensorflow as tf

from tfpose.codecs import geometry
from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.data import images
from tfpose.data.image_records import ImageRecords, rle_to_mask

if TYPE_CHECKING:
    from tfpose.data.prepared import PreparedSplit

AUTOTUNE = tf.data.AUTOTUNE


FITS = ("short_side", "whole_image")


@dataclass(frozen=True)
class BottomUpAugmentConfig:
    """Bottom-up training augmentation: the HigherHRNet / LitePose recipe (uniform draws).

    The crop starts from a fit of the image (``fit``) and is then scaled, rotated, shifted and
    flipped. Validation always uses the plain whole-image fit. The defaults are the values of
    LitePose's configs (mit-han-lab/litepose ``experiments/{coco,crowd_pose}/mobilenet/
    mobile.yaml``: ``MIN_SCALE`` 0.75, ``MAX_SCALE`` 1.5, ``MAX_ROTATION`` 30, ``MAX_TRANSLATE``
    40, ``FLIP`` 0.5, ``SCALE_TYPE`` short), applied as HigherHRNet's ``RandomAffineTransform``
    applies them: the scale multiplies the fitted crop, then the centre moves by up to
    ``MAX_TRANSLATE`` x (scaled crop side / 200) image pixels per axis.
    """

    min_scale: float = 0.75  # crop size x U(0.75, 1.5): below 1 zooms in, above 1 zooms out
    max_scale: float = 1.5
    max_rotation: float = 30.0  # degrees, U(-30, 30)
    # Crop centre shift, as a fraction of the (scaled) crop side: U(-0.2, 0.2) per axis.
    # HigherHRNet and LitePose write MAX_TRANSLATE: 40 in units where the crop side is 200
    # (their dx = randint(-40 s, 40 s) image pixels, s = crop side / 200): 40 / 200 = 0.2 of the
    # crop, i.e. +-102 input pixels at 512, whatever the image's size.
    max_translate: float = 0.2
    flip_prob: float = 0.5
    # "short_side": the crop is the image's short side square (the long side is cut), as
    # LitePose's and HigherHRNet's SCALE_TYPE 'short'; "whole_image": the validation fit (the
    # long side fits, the rest is padding).
    fit: str = "short_side"

    def __post_init__(self):
        if not 0.0 < self.min_scale <= self.max_scale:
            raise ValueError(f"need 0 < min_scale <= max_scale, got {self.min_scale}, "
                             f"{self.max_scale}")
        if not 0.0 <= self.flip_prob <= 1.0:
            raise ValueError(f"flip_prob must be in [0, 1], got {self.flip_prob}")
        if self.max_rotation < 0 or self.max_translate < 0:
            raise ValueError("max_rotation and max_translate must be >= 0")
        if self.fit not in FITS:
            raise ValueError(f"fit must be one of {FITS}, got {self.fit!r}")


NO_BOTTOMUP_AUGMENT = BottomUpAugmentConfig(
    min_scale=1.0, max_scale=1.0, max_rotation=0.0, max_translate=0.0, flip_prob=0.0,
    fit="whole_image")


def bottomup_dataset(
    records: ImageRecords | PreparedSplit,
    codec: BottomUpCodec,
    *,
    batch_size: int = 16,
    train: bool = False,
    augment: BottomUpAugmentConfig | None = None,
    seed: int = 0,
    deterministic: bool | None = None,
    repeat: bool = False,
) -> tf.data.Dataset:
    """Batches of whole images with bottom-up targets and loss masks from ``records``.

    Args:
      records: images from :func:`tfpose.data.image_records.read_coco_images` (or
        ``read_crowdpose_images``), or a prepared split
        (:class:`tfpose.data.prepared.PreparedSplit`) whose images are read the same way.
      codec: fixes the input size and output strides, encodes heatmaps and tag joints.
      batch_size: images per batch; training drops the last partial batch.
      train: shuffle and augment (with ``augment``, default :class:`BottomUpAugmentConfig`).
      augment: augmentation settings; ignored when ``train`` is False (the plain fit).
      seed: seed of shuffling and augmentation.
      deterministic: keep element order under parallel map (default: not when training).
      repeat: repeat forever (each epoch draws new augmentations).
    Returns:
      a dataset of dicts laid out as in the module docstring.
    """
    if records.num_images == 0:
        raise ValueError("no image records to build a dataset from")
    augment = (augment or BottomUpAugmentConfig()) if train else NO_BOTTOMUP_AUGMENT
    deterministic = (not train) if deterministic is None else deterministic
    example = _example_fn(records, codec, augment)

    ds = images.checked_image_rows(records, shuffle=train, repeat=repeat, seed=seed,
                                   deterministic=deterministic, rows="image")
    ds = ds.map(example, num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    ds = ds.filter(lambda example: example["size_ok"]).map(_without_size_ok)
    ds = ds.ignore_errors()  # damage only decoding reveals: skip the image, not the epoch
    ds = ds.batch(batch_size, drop_remainder=train)
    return ds.prefetch(AUTOTUNE)


def _without_size_ok(example):
    return {key: value for key, value in example.items() if key != "size_ok"}


def _example_fn(records, codec: BottomUpCodec, augment: BottomUpAugmentConfig):
    flip_index = tf.constant(records.keypoint_set.flip_index, tf.int32)

    def example(row, contents, ok, example_seed):
        image = images.decode_rgb(contents)
        image_size = tf.shape(image)[:2]
        size_ok = tf.reduce_all(image_size == row["image_size"])
        if not size_ok:  # annotations (and the ignore mask) would not line up with the pixels
            tf.print("tfpose: skipping image whose size differs from its annotation",
                     row["image_path"], output_stream=sys.stderr)
        center, size = fit_image(image_size, codec.input_size, augment.fit, codec.convention)
        seed = tf.stack([example_seed, tf.constant(0, tf.int64)])
        center, size, rotation, flip = _jitter(center, size, augment, seed)
        to_input = geometry.affine_matrix(center, size, rotation, codec.input_size, flip,
                                          codec.convention)
        keypoints = tf.cond(flip, lambda: tf.gather(row["keypoints"], flip_index, axis=1),
                            lambda: row["keypoints"])
        targets = codec.encode(keypoints_to_input(keypoints, to_input, codec.input_size))
        masks = _loss_masks(row, center, size, rotation, flip, codec)
        out = {"image": geometry.warp_image(image, to_input, codec.input_size),
               "joints": targets["joints"], "image_id": row["image_id"],
               "image_size": image_size, "center": center, "size": size,
               "rotation": rotation, "flip": flip, "size_ok": size_ok}
        for stride, heatmaps, mask in zip(codec.strides, targets["heatmaps"], masks,
                                          strict=True):
            out[f"heatmaps_s{stride}"] = heatmaps
            out[f"masks_s{stride}"] = mask
        return out

    return example


def fit_image(image_size, input_size, fit: str = "whole_image", convention: str = "tfpose"):
    """Centre and size (image pixels) of the crop that ``fit`` makes of an ``(H, W)`` image
    (the centre under the model's pixel ``convention``, :mod:`tfpose.codecs.geometry`).

    ``whole_image``: the whole image at the input's aspect ratio, centred, padded;
    ``short_side``: the largest crop of the input's aspect ratio inside the image, centred.
    """
    center, size = geometry.whole_image_center_size(image_size, input_size, convention)
    if fit == "short_side":
        height, width = (tf.cast(image_size[i], tf.float32) for i in (0, 1))
        aspect = input_size[1] / input_size[0]
        crop_width = tf.minimum(width, height * aspect)
        size = tf.stack([crop_width, crop_width / aspect])
    return center, size


def keypoints_to_input(keypoints, matrix, input_size):
    """Map ``[P, K, 3]`` image keypoints into the input grid; those that leave it (or were not
    labelled) get visibility 0 and position (0, 0)."""
    keypoints = tf.convert_to_tensor(keypoints, tf.float32)
    points = geometry.apply_affine(matrix, keypoints[..., :2])
    height, width = float(input_size[0]), float(input_size[1])
    x, y = points[..., 0], points[..., 1]
    inside = (x >= -0.5) & (x <= width - 0.5) & (y >= -0.5) & (y <= height - 0.5)
    keep = inside & (keypoints[..., 2] > 0)
    visibility = tf.where(keep, keypoints[..., 2], 0.0)
    points = tf.where(keep[..., None], points, 0.0)
    return tf.concat([points, visibility[..., None]], axis=-1)


def _jitter(center, size, augment: BottomUpAugmentConfig, seed):
    """Random scale, rotation, translation and flip of the fitted crop."""
    draws = tf.random.stateless_uniform([5], seed)
    scale = augment.min_scale + (augment.max_scale - augment.min_scale) * draws[0]
    rotation = augment.max_rotation * (2.0 * draws[1] - 1.0)
    size = size * scale
    shift = augment.max_translate * (2.0 * draws[2:4] - 1.0)  # fractions of the crop side
    center = center + shift * size
    flip = draws[4] < augment.flip_prob
    return center, size, rotation, flip


def _loss_masks(row, center, size, rotation, flip, codec: BottomUpCodec):
    """``[H/s, W/s, 1]`` float32 per stride: 0 on ignore regions and outside the image."""
    height, width = row["image_size"][0], row["image_size"][1]
    rle = row["ignore_rle"]
    keep = tf.cond(
        tf.strings.length(rle) > 0,
        lambda: 1.0 - tf.cast(rle_to_mask(rle, height, width), tf.float32),
        lambda: tf.ones(tf.stack([height, width]), tf.float32))
    masks = []
    for stride in codec.strides:
        output_size = codec.output_size(stride)
        matrix = geometry.affine_matrix(center, size, rotation, output_size, flip)
        warped = geometry.warp_image(keep[..., None], matrix, output_size)  # outside: 0
        masks.append(tf.cast(warped >= 0.5, tf.float32))
    return masks
