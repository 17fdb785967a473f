"""TensorFlow Datasets builders of the pose datasets: sharded TFRecords, one example per image.

Each builder turns a dataset in its official layout (the layouts of
:mod:`tfpose.data.layouts`) into a ``train`` and a ``validation`` split. The examples are made
by the raw-file readers themselves (:func:`tfpose.data.coco.read_coco_persons`,
:func:`tfpose.data.image_records.read_coco_images`, :func:`tfpose.data.mpii.read_mpii_persons`),
so a prepared dataset holds exactly what the raw pipelines read: the same persons, boxes,
keypoints and ignore regions. Features of an example:

* ``image``: the image file's bytes as they are (JPEG / PNG, not re-encoded);
* ``image_id``, ``file_name``, ``image_size`` ``(height, width)``;
* ``persons``: the top-down persons: ``box`` ``(x, y, w, h)`` (clipped to the image),
  ``keypoints`` ``[K, 2]`` 0-based pixels, ``visibility`` ``[K]`` (0 / 1 / 2), ``record_id``
  (the ``image_ids`` entry the raw reader gives the person: COCO the image id, MPII its row);
* ``labelled_persons``: every labelled, non-crowd person (``keypoints``, ``visibility``): the
  bottom-up targets; ``ignore_rle``: the image's merged ignore mask (COCO compressed RLE, empty
  when there is nothing to ignore);
* ``annotations``: the image's entries of the source annotation file, as json: the ground truth
  that scoring needs (:mod:`tfpose.data.prepared.reading` writes the validation split back as
  the official files).

The ``train`` split keeps the images with at least one labelled person (the only ones training
reads); ``validation`` keeps every image, as evaluation scores all of them. Images whose file
is missing are left out with the readers' warning. Examples are stored in image-id order
(MPII: file order), so a prepared split reads back in the raw readers' order; training shuffles
files and examples when it reads.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from tfpose.data.coco import load_coco, read_coco_persons
from tfpose.data.image_records import read_coco_images
from tfpose.data.layouts import LAYOUTS, DatasetFiles, locate_dataset
from tfpose.data.mpii import load_ground_truth_mat, read_mpii_persons
from tfpose.errors import DataError
from tfpose.keypoints import COCO_17, CROWDPOSE_14, MPII_16, KeypointSet

VERSION = "1.0.0"


def pose_features(keypoint_set: KeypointSet) -> tfds.features.FeaturesDict:
    """The features of every builder (module docstring), for ``K`` keypoints."""
    k = keypoint_set.num_keypoints
    tensor = tfds.features.Tensor
    return tfds.features.FeaturesDict({
        "image": tfds.features.Image(shape=(None, None, 3)),
        "image_id": tensor(shape=(), dtype=np.int64),
        "file_name": tfds.features.Text(),
        "image_size": tensor(shape=(2,), dtype=np.int32),
        "persons": tfds.features.Sequence({
            "box": tensor(shape=(4,), dtype=np.float32),
            "keypoints": tensor(shape=(k, 2), dtype=np.float32),
            "visibility": tensor(shape=(k,), dtype=np.int32),
            "record_id": tensor(shape=(), dtype=np.int64),
        }),
        "labelled_persons": tfds.features.Sequence({
            "keypoints": tensor(shape=(k, 2), dtype=np.float32),
            "visibility": tensor(shape=(k,), dtype=np.int32),
        }),
        "ignore_rle": tensor(shape=(), dtype=tf.string),
        "annotations": tfds.features.Text(),
    })


def _persons(keypoints: np.ndarray) -> dict:
    """``[P, K, 3]`` keypoints as the stored ``keypoints`` and ``visibility`` columns."""
    return {"keypoints": keypoints[..., :2].astype(np.float32),
            "visibility": keypoints[..., 2].astype(np.int32)}


class _PoseBuilder(tfds.core.GeneratorBasedBuilder):
    """What the four builders share: features, splits, metadata and the grouping by image."""

    VERSION = tfds.core.Version(VERSION)
    RELEASE_NOTES = {"1.0.0": "Images, boxes, keypoints, visibility, ignore masks, ground truth."}
    DATASET = ""  # the name in tfpose.data.layouts
    KEYPOINTS: KeypointSet = COCO_17

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description=self.__doc__,
            features=pose_features(self.KEYPOINTS),
            homepage="https://github.com/tfpose/tfpose",
            # Stored in reading order (the raw readers'); training shuffles when it reads.
            disable_shuffling=True,
            metadata=tfds.core.MetadataDict(keypoint_set=self.KEYPOINTS.name, dataset=self.DATASET),
        )

    def _files(self, dl_manager) -> DatasetFiles:
        """The dataset's files in the manual folder (raises DataError naming the layout)."""
        try:
            manual = dl_manager.manual_dir
        except AssertionError:  # TFDS' way of saying the folder is missing or empty
            manual = dl_manager._manual_dir  # noqa: SLF001  (named in our message)
            raise DataError(manual, f"{self.DATASET} is prepared from the official files; "
                            f"expected layout: {LAYOUTS[self.DATASET]}") from None
        return locate_dataset(self.DATASET, manual)

    def _split_generators(self, dl_manager):
        files = self._files(dl_manager)
        self.info.metadata["source"] = {"train": str(files.train_ann),
                                        "validation": str(files.val_ann)}
        return {"train": self._generate_examples(files, "train"),
                "validation": self._generate_examples(files, "validation")}

    def _generate_examples(self, files: DatasetFiles, split: str):
        yield from self._examples(files, split)

    def _examples(self, files: DatasetFiles, split: str):
        """``(key, example)`` pairs of one split, in reading order."""
        raise NotImplementedError  # each format has its reader

    def _count(self, split: str, images: int, persons: int, labelled: int):
        counts = dict(self.info.metadata.get("counts", {}))
        counts[split] = {"images": images, "persons": persons, "labelled_persons": labelled}
        self.info.metadata["counts"] = counts


class _CocoFormatBuilder(_PoseBuilder):
    """COCO-format keypoint files (COCO, CrowdPose, synthetic figures)."""

    def _examples(self, files: DatasetFiles, split: str):
        train = split == "train"
        ann_file, image_dir = files.split(split)
        coco = load_coco(ann_file, self.KEYPOINTS)
        self.info.metadata["categories"] = coco.dataset["categories"]
        persons = read_coco_persons(ann_file, image_dir, self.KEYPOINTS, coco=coco)
        images = read_coco_images(ann_file, image_dir, self.KEYPOINTS, coco=coco,
                                  keep_images_without_persons=not train)
        rows_of = defaultdict(list)
        for row, image_id in enumerate(persons.image_ids):
            rows_of[int(image_id)].append(row)
        self._count(split, len(images), len(persons), len(images.keypoints))
        for i, image_id in enumerate(images.image_ids):
            image_id = int(image_id)
            image = coco.imgs[image_id]
            rows = np.asarray(rows_of.get(image_id, []), np.int64)
            truth = {"image": image, "annotations": coco.imgToAnns.get(image_id, [])}
            yield image_id, {
                "image": images.image_paths[i],
                "image_id": image_id,
                "file_name": image["file_name"],
                "image_size": images.image_sizes[i],
                "persons": {"box": persons.boxes[rows].reshape(-1, 4),
                            "record_id": persons.image_ids[rows],
                            **_persons(persons.keypoints[rows])},
                "labelled_persons": _persons(images.persons(i)),
                "ignore_rle": images.ignore_rles[i],
                "annotations": json.dumps(truth),
            }


class TfposeCoco(_CocoFormatBuilder):
    """COCO 2017 person keypoints (17 keypoints), from the official files.

    ``--manual_dir`` (``tfpose prepare coco --manual-dir DIR``) is the folder laid out as::

        DIR/annotations/person_keypoints_train2017.json
        DIR/annotations/person_keypoints_val2017.json
        DIR/train2017/*.jpg
        DIR/val2017/*.jpg
    """

    DATASET = "coco"
    KEYPOINTS = COCO_17
    MANUAL_DOWNLOAD_INSTRUCTIONS = __doc__


class TfposeCrowdpose(_CocoFormatBuilder):
    """CrowdPose (14 keypoints): ``train`` is trainval, ``validation`` is test, as published.

    ``--manual_dir`` is the folder laid out as::

        DIR/json/crowdpose_trainval.json
        DIR/json/crowdpose_test.json
        DIR/images/*.jpg
    """

    DATASET = "crowdpose"
    KEYPOINTS = CROWDPOSE_14
    MANUAL_DOWNLOAD_INSTRUCTIONS = __doc__


class TfposeMpii(_PoseBuilder):
    """MPII Human Pose (16 keypoints) in the HRNet json layout, one example per run of entries
    of the same image (the file's order is kept).

    ``--manual_dir`` is the folder laid out as::

        DIR/annot/train.json
        DIR/annot/valid.json
        DIR/annot/gt_valid.mat      (optional: the official validation ground truth, for PCKh)
        DIR/images/*.jpg
    """

    DATASET = "mpii"
    KEYPOINTS = MPII_16
    MANUAL_DOWNLOAD_INSTRUCTIONS = __doc__

    def _examples(self, files: DatasetFiles, split: str):
        train = split == "train"
        ann_file, image_dir = files.split(split)
        with open(ann_file, encoding="utf-8") as f:
            entries = json.load(f)
        persons = read_mpii_persons(ann_file, image_dir)
        truth = None
        if not train and files.mpii_ground_truth is not None:
            truth = load_ground_truth_mat(files.mpii_ground_truth)
            if truth.num_persons != len(entries):
                raise DataError(files.mpii_ground_truth, f"holds {truth.num_persons} persons "
                                f"but {ann_file} has {len(entries)}")
        runs = _runs(persons.image_paths)
        self._count(split, len(runs), len(persons), len(persons))
        for rows in runs:
            rows = np.asarray(rows, np.int64)
            path = persons.image_paths[rows[0]]
            with Image.open(path) as image:  # reads the header only
                width, height = image.size
            first = int(persons.image_ids[rows[0]])
            ground_truth = {"entries": [entries[int(i)] for i in persons.image_ids[rows]]}
            if truth is not None:
                ids = persons.image_ids[rows]
                ground_truth["gt_valid"] = {"joints": truth.joints[ids].tolist(),
                                            "visible": truth.visible[ids].tolist(),
                                            "head_boxes": truth.head_boxes[ids].tolist()}
            keypoints = persons.keypoints[rows]
            yield first, {
                "image": path,
                "image_id": first,
                "file_name": os.path.basename(path),
                "image_size": np.array([height, width], np.int32),
                "persons": {"box": persons.boxes[rows], "record_id": persons.image_ids[rows],
                            **_persons(keypoints)},
                "labelled_persons": _persons(keypoints),
                "ignore_rle": b"",
                "annotations": json.dumps(ground_truth),
            }


def _runs(paths) -> list[list[int]]:
    """Indices of consecutive rows with the same image path."""
    runs: list[list[int]] = []
    for i, path in enumerate(paths):
        if runs and paths[runs[-1][0]] == path:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


class SyntheticConfig(tfds.core.BuilderConfig):
    """How many synthetic images per split, and the generator's seed."""

    def __init__(self, *, train_images: int, val_images: int, seed: int = 0):
        super().__init__(name=f"train{train_images}_val{val_images}_seed{seed}",
                         description=f"{train_images} training and {val_images} validation "
                                     f"images, seed {seed}")
        self.train_images, self.val_images, self.seed = train_images, val_images, seed


class TfposeSynthetic(_CocoFormatBuilder):
    """The synthetic figures (COCO's 17 keypoints) of :mod:`tfpose.data.synthetic`, generated
    on the fly (no manual folder); one config per image counts and seed."""

    DATASET = "synthetic"
    KEYPOINTS = COCO_17
    BUILDER_CONFIGS = [SyntheticConfig(train_images=1200, val_images=64)]

    def _files(self, dl_manager) -> DatasetFiles:
        config = self.builder_config
        return locate_dataset("synthetic", synthetic_images=(config.train_images,
                                                             config.val_images),
                              seed=config.seed)


BUILDERS: dict[str, type[_PoseBuilder]] = {
    b.DATASET: b for b in (TfposeCoco, TfposeMpii, TfposeCrowdpose, TfposeSynthetic)}
