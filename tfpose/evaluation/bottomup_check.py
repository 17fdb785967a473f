"""Bottom-up codec check: the AP a perfect LitePose-style model would get with our grouping.

For every image of a COCO-format file, the whole image is fitted into the model input
(:func:`tfpose.codecs.geometry.whole_image_center_size` + :func:`~tfpose.codecs.geometry.
affine_matrix`, as training and inference do), its persons are encoded with
:meth:`BottomUpCodec.encode`, and *ideal* model outputs are built from the targets:

* heatmaps: the encoded targets at every stride;
* tag maps (stride 4, one per joint): person ``p`` of the image carries the tag ``p``; every cell
  of joint ``k``'s map takes the tag of the person whose joint ``k`` is nearest (a Voronoi fill).
  A trained model's tags are only defined near its joints; filling the rest with the nearest
  person's tag is the best case, and makes the tag read at any peak (after the bilinear resize
  and sub-pixel shifts) the right one unless two persons' same joints nearly coincide.

The grouping decoder then turns these outputs back into persons in image pixels, which are
scored against the same ground truth (pycocotools for COCO, xtcocotools for CrowdPose). Anything
short of 1.0 is lost by the bottom-up round trip itself: quantisation at the grouping stride,
joints of different persons merged by the peak NMS, persons too small for the output grid.

Under a test-time protocol (:class:`tfpose.codecs.bottomup_protocol.BottomUpProtocol`,
e.g. the authors' aligned inputs and stride-1 grouping) the ideal outputs are made at every
input the protocol gives the image (:func:`ideal_runs`) and decoded as the evaluator decodes a
model's.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment
from tqdm import tqdm

from tfpose.codecs import geometry
from tfpose.codecs.associative_embedding import BottomUpCodec, coco_results
from tfpose.codecs.bottomup_protocol import BottomUpProtocol, ImageInputs
from tfpose.data import coco as coco_reader
from tfpose.evaluation.coco import evaluate_keypoints
from tfpose.evaluation.codec_check import DATASETS
from tfpose.evaluation.crowdpose import evaluate_crowdpose
from tfpose.keypoints import KeypointSet


def to_input(keypoints, image_size, input_size) -> np.ndarray:
    """``[P, K, 3]`` image keypoints -> model-input pixels (visibility kept) for a whole image
    of ``(H, W)`` ``image_size`` fitted into ``input_size``."""
    center, size = geometry.whole_image_center_size(image_size, input_size)
    return through(geometry.affine_matrix(center, size, 0.0, input_size), keypoints)


def through(matrix, keypoints) -> np.ndarray:
    """``[P, K, 3]`` keypoints mapped by a ``[2, 3]`` affine (the third column kept)."""
    keypoints = np.asarray(keypoints, np.float32)
    points = geometry.apply_affine(matrix, keypoints[..., :2].reshape(-1, 2)).numpy()
    return np.concatenate([points.reshape(keypoints.shape[:-1] + (2,)), keypoints[..., 2:]], -1)


def mirror_input(keypoints, input_size, keypoint_set: KeypointSet) -> np.ndarray:
    """Input-pixel keypoints of the horizontally mirrored input (left/right joints swapped)."""
    mirrored = np.array(keypoints, np.float32)[:, keypoint_set.flip_index]
    mirrored[..., 0] = input_size[1] - 1.0 - mirrored[..., 0]
    return mirrored


def ideal_tags(codec: BottomUpCodec, keypoints) -> np.ndarray:
    """Ideal tag maps ``[H/s, W/s, K]`` at the tag stride for ``[P, K, 3]`` input keypoints:
    person ``p`` carries tag ``p``, every other cell the tag of the nearest joint of its channel.
    """
    keypoints = np.asarray(keypoints, np.float32).reshape(-1, *np.shape(keypoints)[-2:])
    stride = codec.strides[0]
    height, width = codec.output_size(stride)
    points = (keypoints[..., :2] + 0.5) / stride - 0.5
    on_map = ((keypoints[..., 2] > 0) & (points[..., 0] >= -0.5) & (points[..., 0] <= width - 0.5)
              & (points[..., 1] >= -0.5) & (points[..., 1] <= height - 0.5))
    cells = np.clip(np.round(points).astype(int), 0, [width - 1, height - 1])
    tags = np.zeros((height, width, keypoints.shape[1]), np.float32)
    for joint in range(keypoints.shape[1]):
        persons = np.flatnonzero(on_map[:, joint])
        if persons.size == 0:
            continue
        seed = np.full((height, width), -1, np.int64)
        seed[cells[persons, joint, 1], cells[persons, joint, 0]] = persons
        _, (rows, cols) = ndimage.distance_transform_edt(seed < 0, return_indices=True)
        tags[..., joint] = seed[rows, cols]
    return tags


def ideal_outputs(codec: BottomUpCodec, keypoints) -> list[np.ndarray]:
    """The outputs a perfect model gives for ``[P, K, 3]`` input keypoints: a list with one
    ``[1, H/s, W/s, C]`` array per stride (the first: ``K`` heatmaps + ``K`` tag maps)."""
    keypoints = np.asarray(keypoints, np.float32)
    heatmaps = [h.numpy() for h in codec.encode(keypoints)["heatmaps"]]
    first = np.concatenate([heatmaps[0], ideal_tags(codec, keypoints)], axis=-1)
    return [first[None]] + [h[None] for h in heatmaps[1:]]


def ideal_runs(codec: BottomUpCodec, keypoints, inputs: ImageInputs,
               keypoint_set: KeypointSet, flip: bool = False) -> list[tuple]:
    """What a perfect model gives at every input of ``inputs`` (:meth:`BottomUpCodec.
    inputs_for`) for ``[P, K, 3]`` *image* keypoints: one ``(outputs, flipped outputs or None)``
    pair per scale, ready for :meth:`BottomUpCodec.decode_image`."""
    runs = []
    for size in inputs.sizes:
        scaled = codec.at_input_size(size)
        points = through(inputs.matrix(size), keypoints)
        flipped = (ideal_outputs(scaled, mirror_input(points, size, keypoint_set)) if flip
                   else None)
        runs.append((ideal_outputs(scaled, points), flipped))
    return runs


def match_persons(truth, predicted):
    """Pair ground-truth and predicted persons of one image by mean joint distance.

    Args:
      truth: ``[G, K, 3]`` ground truth (x, y, visibility).
      predicted: ``[P, K, 3]`` predictions (x, y, score).
    Returns:
      ``(pairs [N, 2] (truth row, predicted row), errors)`` where ``errors`` is a list with the
      distance of every labelled joint of every pair (a joint the prediction lacks counts inf).
    """
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if len(truth) == 0 or len(predicted) == 0:
        return np.zeros((0, 2), int), []
    labelled = truth[..., 2] > 0
    distance = np.linalg.norm(truth[:, None, :, :2] - predicted[None, :, :, :2], axis=-1)
    distance = np.where(predicted[None, :, :, 2] > 0, distance, np.inf)
    capped = np.where(labelled[:, None], np.minimum(distance, 1e6), 0.0)
    cost = capped.sum(-1) / np.maximum(labelled.sum(-1), 1)[:, None]
    rows, cols = linear_sum_assignment(cost)
    errors = [d for r, c in zip(rows, cols, strict=True) for d in distance[r, c][labelled[r]]]
    return np.stack([rows, cols], axis=1), errors


def bottomup_check(ann_file, codec: BottomUpCodec | None = None, *, dataset: str = "coco",
                   flip: bool = False, progress: bool = True,
                   protocol: BottomUpProtocol | None = None) -> dict:
    """Ideal outputs -> grouping decoder -> COCO-style AP of every image in ``ann_file``.

    Args:
      ann_file: COCO-format keypoints json (COCO or CrowdPose).
      codec: the bottom-up codec (default: 512x512 input, strides 4 and 2, LitePose grouping).
      dataset: ``"coco"`` or ``"crowdpose"``: keypoint set and evaluator.
      flip: also feed ideal outputs of the mirrored input (exercises the flip-test path).
      protocol: the test-time protocol; None = tfpose's (the codec's fixed input and grouping).
    Returns:
      the dataset's AP statistics, plus ``num_images``, ``num_persons`` (ground truth with
      labelled keypoints), ``num_detections``, ``missed_persons`` and ``extra_detections``
      (after pairing predictions with the ground truth per image), ``mean_error_px``,
      ``median_error_px`` and ``within_2px`` (labelled joints of paired persons, image pixels)
      and ``seconds``.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {sorted(DATASETS)}, got {dataset!r}")
    codec = codec or BottomUpCodec()
    keypoint_set = DATASETS[dataset]
    coco = coco_reader.load_coco(ann_file, keypoint_set)
    records = coco_reader.read_coco_persons(ann_file, image_dir="", keypoint_set=keypoint_set,
                                            coco=coco, check_images=False)
    if len(records) == 0:
        raise ValueError(f"{ann_file}: no person with labelled keypoints to check")
    start = time.perf_counter()
    results, errors, missed, extra = [], [], 0, 0
    for image_id in tqdm(sorted(coco.imgs), desc="bottom-up check", unit="image",
                         disable=not progress):
        image = coco.imgs[image_id]
        image_size = (image["height"], image["width"])
        truth = records.keypoints[records.image_ids == image_id]
        predicted, image_results = _decode_ideal(codec, truth, image_size, image_id,
                                                 keypoint_set, flip, protocol)
        results += image_results
        pairs, pair_errors = match_persons(truth, predicted)
        errors += pair_errors
        missed += len(truth) - len(pairs)
        extra += len(predicted) - len(pairs)
    seconds = time.perf_counter() - start
    if dataset == "crowdpose":
        stats = evaluate_crowdpose(ann_file, results)
    else:
        stats = evaluate_keypoints(coco, results, keypoint_set)
    errors = np.asarray(errors)
    return {**stats, "num_images": len(coco.imgs), "num_persons": len(records),
            "num_detections": len(results), "missed_persons": missed, "extra_detections": extra,
            "mean_error_px": float(errors[np.isfinite(errors)].mean()) if errors.size else 0.0,
            "median_error_px": float(np.median(errors)) if errors.size else 0.0,
            "within_2px": float((errors <= 2.0).mean()) if errors.size else 0.0,
            "input_size": "x".join(map(str, codec.input_size)), "flip": flip,
            "protocol": protocol.name if protocol else "tfpose", "seconds": round(seconds, 2)}


def _decode_ideal(codec, truth, image_size, image_id, keypoint_set, flip, protocol):
    """Decoded persons ``[P, K, 3]`` and their results dicts for one image's ideal outputs."""
    inputs = codec.inputs_for(image_size, protocol)
    runs = ideal_runs(codec, truth, inputs, keypoint_set, flip)
    decoded = [codec.decode_image(runs, inputs, keypoint_set=keypoint_set, protocol=protocol)]
    return decoded[0][0], coco_results([image_id], decoded)
