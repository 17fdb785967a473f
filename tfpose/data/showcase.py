"""``tfpose show-dataset``: ground truth drawn on images and on the pipeline's crops, by eye.

Crops show the keypoints *decoded from the target heatmaps* and mapped into the crop, so a
misaligned crop, a wrong flip swap or a codec bug is visible, not just the annotation.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from tfpose.codecs import geometry
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.data.coco import read_coco_persons
from tfpose.data.mpii import read_mpii_persons
from tfpose.data.records import PersonRecords
from tfpose.data.topdown import topdown_dataset
from tfpose.keypoints import COCO_17, CROWDPOSE_14
from tfpose.visualize import draw_skeleton, image_grid, save_rgb

log = logging.getLogger("tfpose")


def read_persons(dataset: str, ann_file, image_dir) -> PersonRecords:
    """Ground-truth persons of ``dataset`` (coco, crowdpose, mpii) from its annotation file."""
    if dataset == "mpii":
        return read_mpii_persons(ann_file, image_dir)
    keypoint_set = CROWDPOSE_14 if dataset == "crowdpose" else COCO_17
    return read_coco_persons(ann_file, image_dir, keypoint_set)


def show_dataset(ann_file, image_dir, out_dir, *, dataset: str = "coco", num_images: int = 8,
                 augment: bool = False, input_size=(256, 192), seed: int = 0) -> list[Path]:
    """Write ``<image>_gt.png`` per image and, with ``augment``, ``crops.png``; returns paths."""
    records = read_persons(dataset, ann_file, image_dir)
    if len(records) == 0:
        raise ValueError(f"{ann_file}: no person with labelled keypoints in the readable images")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = list(dict.fromkeys(records.image_paths))[:num_images]
    written = [_draw_image(records, path, out_dir) for path in paths]
    written = [p for p in written if p is not None]
    chosen = records.select(np.isin(records.image_paths, paths))
    written.append(_draw_crops(chosen, out_dir / "crops.png", input_size, augment, seed))
    return written


def _draw_image(records: PersonRecords, path: str, out_dir: Path) -> Path | None:
    image = cv2.imread(path)
    if image is None:
        log.warning("skipping unreadable image %s", path)
        return None
    people = records.keypoints[records.image_paths == path]
    drawn = draw_skeleton(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), people, records.keypoint_set)
    target = out_dir / f"{Path(path).stem}_gt.png"
    save_rgb(target, drawn)
    return target


def _draw_crops(records: PersonRecords, target: Path, input_size, augment: bool, seed: int):
    """Pipeline crops (augmented when asked) with keypoints decoded from their targets."""
    codec = HeatmapCodec(input_size=tuple(input_size), heatmap_size=(input_size[0] // 4,
                                                                     input_size[1] // 4))
    batch = next(iter(topdown_dataset(records, codec, batch_size=min(len(records), 32),
                                      train=augment, seed=seed, deterministic=True)))
    coords, _ = codec.decode(batch["heatmaps"].numpy())
    heatmap_to_input = geometry.compose_affine(
        codec.image_to_input_matrix(batch["center"], batch["size"], batch["rotation"],
                                    batch["flip"]),
        geometry.invert_affine(codec.image_to_heatmap_matrix(
            batch["center"], batch["size"], batch["rotation"], batch["flip"])))
    points = geometry.apply_affine(heatmap_to_input, coords).numpy()
    labelled = batch["target_weight"].numpy()[..., None]
    crops = [
        draw_skeleton(np.clip(image, 0, 255).astype(np.uint8),
                      np.concatenate([p, w], axis=-1), records.keypoint_set)
        for image, p, w in zip(batch["image"].numpy(), points, labelled, strict=True)
    ]
    save_rgb(target, image_grid(crops, columns=8))
    return target

