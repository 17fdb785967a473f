"""Codec check: the AP a perfect model would get, given our targets and decoder.

Every ground-truth person of a COCO-format file is encoded into target heatmaps exactly as the
training pipeline does (same box, padding, affine and Gaussian), decoded, mapped back to the
image and scored against the same ground truth. Anything short of 1.0 is lost by the encoding
round trip itself (quantisation, decoding bias, keypoints off the heatmap): an upper bound for
every model trained with this codec, and the first place a coordinate bug shows.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.data import coco as coco_reader
from tfpose.data.topdown import topdown_targets
from tfpose.evaluation.coco import evaluate_keypoints, keypoint_results
from tfpose.evaluation.crowdpose import evaluate_crowdpose
from tfpose.keypoints import COCO_17, CROWDPOSE_14, KeypointSet

DATASETS: dict[str, KeypointSet] = {"coco": COCO_17, "crowdpose": CROWDPOSE_14}


def codec_check(ann_file, codec: HeatmapCodec, *, dataset: str = "coco", decoder: str | None = None,
                boxes: str = "training", progress: bool = True) -> dict:
    """Encode -> decode -> COCO-style AP of all ground-truth persons in ``ann_file``.

    ``boxes="training"`` crops as training does (annotation box grown to cover the labelled
    keypoints); ``boxes="annotation"`` uses the bare annotation boxes, where joints labelled
    outside their box fall off the heatmap and are lost.

    Returns the dataset's AP statistics plus ``num_persons`` and the mean pixel error of
    labelled keypoints in image space (``mean_error_px``).
    """
    keypoint_set = DATASETS[dataset]
    coco = coco_reader.load_coco(ann_file, keypoint_set)
    records = coco_reader.read_coco_persons(
        ann_file, image_dir="", keypoint_set=keypoint_set, coco=coco, check_images=False)
    if len(records) == 0:
        raise ValueError(f"{ann_file}: no person with labelled keypoints to check")
    points, scores = [], []
    if boxes not in ("training", "annotation"):
        raise ValueError(f"boxes must be 'training' or 'annotation', got {boxes!r}")
    batches = topdown_targets(records, codec, cover_keypoints=boxes == "training")
    for batch in tqdm(batches, desc="codec check", unit="batch", disable=not progress):
        p, s = codec.decode_to_image(batch["heatmaps"].numpy(), batch["center"], batch["size"],
                                     decoder=decoder)
        points.append(p)
        scores.append(s)
    points, scores = np.concatenate(points), np.concatenate(scores)
    results = keypoint_results(records.image_ids, points, scores, records.scores)
    if dataset == "crowdpose":
        stats = evaluate_crowdpose(ann_file, results)
    else:
        stats = evaluate_keypoints(coco, results, keypoint_set)
    labelled = records.keypoints[..., 2] > 0
    error = np.linalg.norm(points - records.keypoints[..., :2], axis=-1)[labelled]
    return {**stats, "num_persons": len(records), "mean_error_px": float(error.mean()),
            "decoder": decoder or codec.decoder, "boxes": boxes}
