"""Where ``--data`` / ``--data-root`` find their files, for top-down and bottom-up scripts alike.

Expected layouts (the official downloads, arranged as the reference HRNet / HigherHRNet code
expects them):

* ``coco``: ``<root>/annotations/person_keypoints_train2017.json`` and
  ``person_keypoints_val2017.json``, images in ``<root>/train2017/`` and ``<root>/val2017/``.
  Validation: val2017 with ground-truth boxes.
* ``mpii``: ``<root>/annot/train.json`` and ``valid.json`` (the HRNet json layout: ``joints``,
  ``joints_vis``, ``center``, ``scale``), optionally ``<root>/annot/gt_valid.mat`` (the official
  validation ground truth, needed for PCKh), images in ``<root>/images/``.
* ``crowdpose``: ``<root>/json/crowdpose_trainval.json`` and ``crowdpose_test.json``, images in
  ``<root>/images/``. Trained on trainval and evaluated on test, as the papers report it.
* ``synthetic``: generated on first use into ``$TFPOSE_CACHE`` (default ``~/.cache/tfpose``)
  by :func:`tfpose.data.bundled.synthetic_dataset`; ``--data-root`` is not used. COCO format
  with COCO's 17 keypoints; train and validation images never share a figure.

A missing root or file is a :class:`~tfpose.errors.DataError` whose one-line message names the
path and the layout expected.

With ``--data-source tfds`` the scripts read a prepared dataset instead
(:func:`tfpose.data.prepared.prepared_dataset`): training streams the ``train`` split from
its TFRecords in ``--data-dir``, and validation is scored on the ``validation`` split written
back as official files into ``$TFPOSE_CACHE`` once. ``--data synthetic`` is prepared on first
use; the others with ``tfpose prepare NAME --manual-dir <root in the layout above>``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from tfpose.data.bundled import synthetic_dataset
from tfpose.data.coco import read_coco_persons
from tfpose.data.crowdpose import read_crowdpose_persons
from tfpose.data.mpii import read_mpii_persons
from tfpose.data.records import PersonRecords
from tfpose.errors import DataError
from tfpose.keypoints import COCO_17, CROWDPOSE_14, MPII_16, KeypointSet

log = logging.getLogger("tfpose")

DATASETS = ("synthetic", "coco", "mpii", "crowdpose")
DATA_SOURCES = ("raw", "tfds")

LAYOUTS = {
    "coco": "<root>/annotations/person_keypoints_{train2017,val2017}.json with images in "
            "<root>/train2017/ and <root>/val2017/",
    "mpii": "<root>/annot/{train,valid}.json (HRNet json layout; optional "
            "<root>/annot/gt_valid.mat for PCKh) with images in <root>/images/",
    "crowdpose": "<root>/json/crowdpose_{trainval,test}.json with images in <root>/images/",
}

SYNTHETIC_IMAGES = (1200, 64)  # default (train, validation) image counts: ~2500 / ~130 persons


@dataclass(frozen=True)
class DatasetFiles:
    """The files of one dataset's training and validation splits.

    Attributes:
      name: one of :data:`DATASETS`.
      keypoint_set: the dataset's keypoints.
      train_ann, val_ann: annotation files (COCO json; MPII: HRNet-style json).
      train_images, val_images: the image folders the annotations' file names are relative to.
        From a prepared dataset (:func:`tfpose.data.prepared.prepared_dataset`), ``train_ann``
        and ``train_images`` both name the prepared dataset's folder, a str that may be
        ``gs://...`` (hence ``Path | str``); the validation entries are local files.
      mpii_ground_truth: MPII's ``gt_valid.mat`` when present (PCKh), else None.
    """

    name: str
    keypoint_set: KeypointSet
    train_ann: Path | str
    train_images: Path | str
    val_ann: Path
    val_images: Path
    mpii_ground_truth: Path | None = None

    def split(self, name: str) -> tuple:
        """``(annotation file, image folder)`` of split ``"train"`` or any other (validation)."""
        return ((self.train_ann, self.train_images) if name == "train"
                else (self.val_ann, self.val_images))

    @property
    def coco_format(self) -> bool:
        """Whether the annotations are COCO json (scored with COCO-style AP)."""
        return self.name != "mpii"


def locate_dataset(name: str, root=None, *, synthetic_images: tuple[int, int] = SYNTHETIC_IMAGES,
                   seed: int = 0, splits: tuple[str, ...] = ("train", "validation")
                   ) -> DatasetFiles:
    """The files of ``--data name --data-root root``; generates synthetic data if needed.

    ``splits``: the splits that must be there (``"train"``, ``"validation"``): evaluation and
    prediction read only the validation split, so a root with only that one serves them.

    Raises:
      DataError: the root or a file of a needed split is missing (the message names the split
        and the layout).
    """
    unknown = set(splits) - {"train", "validation"}
    if unknown or not splits:
        raise ValueError(f"splits must be 'train' and/or 'validation', got {splits}")
    if name not in DATASETS:
        raise DataError(name, f"unknown dataset; choose one of {DATASETS}")
    if name == "synthetic":
        if root is not None:
            raise DataError(root, "--data synthetic generates its data in $TFPOSE_CACHE; "
                            "--data-root is for coco, mpii and crowdpose")
        return _synthetic(synthetic_images, seed)
    layout = LAYOUTS[name]
    if root is None:
        raise DataError(f"--data {name}", f"needs --data-root; expected layout: {layout}")
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, f"dataset root not found; expected {name} layout: {layout}")
    if name == "coco":
        files = DatasetFiles(
            "coco", COCO_17,
            root / "annotations" / "person_keypoints_train2017.json", root / "train2017",
            root / "annotations" / "person_keypoints_val2017.json", root / "val2017")
    elif name == "crowdpose":
        files = DatasetFiles(
            "crowdpose", CROWDPOSE_14, root / "json" / "crowdpose_trainval.json",
            root / "images", root / "json" / "crowdpose_test.json", root / "images")
    else:
        ground_truth = root / "annot" / "gt_valid.mat"
        files = DatasetFiles(
            "mpii", MPII_16, root / "annot" / "train.json", root / "images",
            root / "annot" / "valid.json", root / "images",
            ground_truth if ground_truth.is_file() else None)
    for split in splits:
        ann, images = files.split(split)
        if not ann.is_file():
            raise DataError(ann, f"not found: the {split} split's annotations; expected {name} "
                            f"layout: {layout}")
        if not images.is_dir():
            raise DataError(images, f"image folder not found: the {split} split's images; "
                            f"expected {name} layout: {layout}")
    return files


def _synthetic(images: tuple[int, int], seed: int) -> DatasetFiles:
    num_train, num_val = images
    if num_train < 1 or num_val < 1:
        raise DataError("--synthetic-images", f"needs two positive counts, got {images}")
    train_ann, train_images = synthetic_dataset("train", num_train, seed=seed)
    val_ann, val_images = synthetic_dataset("val", num_val, seed=seed)
    return DatasetFiles("synthetic", COCO_17, train_ann, train_images, val_ann, val_images)


def read_persons(files: DatasetFiles, ann_file, image_dir) -> PersonRecords:
    """The persons of one split of ``files`` with the dataset's reader."""
    if files.name == "mpii":
        return read_mpii_persons(ann_file, image_dir)
    if files.name == "crowdpose":
        return read_crowdpose_persons(ann_file, image_dir)
    return read_coco_persons(ann_file, image_dir, files.keypoint_set)
