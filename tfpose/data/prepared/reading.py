"""Reading prepared datasets (:mod:`tfpose.data.prepared.builders`) into the input pipelines.

A :class:`PreparedSplit` stands in for the raw readers' records in
:func:`tfpose.data.topdown.topdown_dataset` and :func:`tfpose.data.bottomup.bottomup_dataset`:
its :meth:`~PreparedSplit.person_rows` / :meth:`~PreparedSplit.image_rows` yield the rows the
records' columns give, with the image's bytes (``image_bytes``) instead of a file to read.
Shuffling cannot pick rows before reading them from TFRecords, so it shuffles the files (each
epoch anew) and then images in a buffer of :data:`IMAGE_SHUFFLE_BUFFER`, and for top-down
persons once more in a buffer of :data:`PERSON_SHUFFLE_BUFFER`.

Validation is scored on the official files (pycocotools, xtcocotools, the MPII ``.mat``), so
:func:`materialise_validation` writes the validation split back as them, into the local cache:
the annotation file, the image files byte for byte, and ``gt_valid.mat`` when the dataset had
one. A user with the data only in a bucket (a TPU) therefore needs no raw copy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tfpose.data.bundled import cache_dir
from tfpose.data.image_records import ImageRecords
from tfpose.data.layouts import LAYOUTS, SYNTHETIC_IMAGES, DatasetFiles
from tfpose.data.mpii import MPIIGroundTruth, save_ground_truth_mat
from tfpose.data.prepared.builders import BUILDERS, VERSION, SyntheticConfig
from tfpose.data.records import PersonRecords
from tfpose.errors import DataError
from tfpose.files import make_folder_once
from tfpose.keypoints import get_keypoint_set

log = logging.getLogger("tfpose")

IMAGE_SHUFFLE_BUFFER = 512  # encoded images (~160 kB each for COCO): ~80 MB
PERSON_SHUFFLE_BUFFER = 256
SPLITS = ("train", "validation")


def default_data_dir() -> str:
    """TFDS' data folder: ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``."""
    return os.environ.get("TFDS_DATA_DIR", os.path.expanduser("~/tensorflow_datasets"))


def dataset_builder(name: str, data_dir=None, *, synthetic_images=(1200, 64),
                    seed: int = 0) -> tfds.core.DatasetBuilder:
    """The builder of dataset ``name`` (``coco``, ``mpii``, ``crowdpose``, ``synthetic``)."""
    if name not in BUILDERS:
        raise DataError(name, f"no prepared form; choose one of {sorted(BUILDERS)}")
    kwargs = {"data_dir": str(data_dir or default_data_dir())}
    if name == "synthetic":
        config = SyntheticConfig(train_images=synthetic_images[0],
                                 val_images=synthetic_images[1], seed=seed)
        known = {c.name for c in BUILDERS[name].BUILDER_CONFIGS}
        kwargs["config"] = config.name if config.name in known else config  # TFDS' rule
    return BUILDERS[name](**kwargs)


def prepare(name: str, data_dir=None, *, manual_dir=None, synthetic_images=(1200, 64),
            seed: int = 0) -> tfds.core.DatasetBuilder:
    """Write the prepared dataset (no-op when it is there already); returns its builder.

    Raises:
      DataError: ``manual_dir`` is missing or not in the dataset's layout.
    """
    builder = dataset_builder(name, data_dir, synthetic_images=synthetic_images, seed=seed)
    if name == "synthetic" and manual_dir is not None:
        raise DataError(manual_dir, "the synthetic figures are generated; --manual-dir is for "
                        "coco, mpii and crowdpose")
    if name != "synthetic" and (manual_dir is None or not os.path.isdir(manual_dir)):
        raise DataError(manual_dir or "--manual-dir", f"{name} is prepared from the official "
                        f"files; expected layout: {LAYOUTS[name]}")
    config = tfds.download.DownloadConfig(manual_dir=str(manual_dir) if manual_dir else None)
    builder.download_and_prepare(download_config=config)
    return builder


def open_split(name: str, split: str, data_dir=None, **kwargs) -> PreparedSplit:
    """A split of a prepared dataset, or a DataError saying how to prepare it."""
    builder = dataset_builder(name, data_dir, **kwargs)
    if not tf.io.gfile.exists(os.path.join(builder.data_dir, "dataset_info.json")):
        raise DataError(builder.data_dir, f"no prepared {name} dataset here; make it with "
                        f"`tfpose prepare {name} --manual-dir <official files> --data-dir "
                        f"{data_dir or default_data_dir()}`")
    return PreparedSplit(builder, split)


@dataclass(frozen=True)
class PreparedSplit:
    """One split of a prepared dataset, read by the same pipelines as the raw records.

    ``len()`` is the number of top-down persons; :attr:`num_images` the number of images.
    """

    builder: tfds.core.DatasetBuilder
    split: str

    @property
    def keypoint_set(self):
        return get_keypoint_set(self.builder.info.metadata["keypoint_set"])

    @property
    def counts(self) -> dict:
        return self.builder.info.metadata["counts"][self.split]

    def __len__(self) -> int:
        return self.counts["persons"]

    @property
    def num_images(self) -> int:
        return self.counts["images"]

    @property
    def num_shards(self) -> int:
        return len(self.builder.info.splits[self.split].filenames)

    @property
    def description(self) -> str:
        return f"prepared {self.builder.name} {self.split} split in {self.builder.data_dir}"

    def examples(self, *, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
        """The stored examples, images left encoded (``image`` holds the file's bytes)."""
        # The splits are stored in order (disable_shuffling); reading them shuffled is meant.
        read = tfds.ReadConfig(shuffle_seed=seed, shuffle_reshuffle_each_iteration=True,
                               try_autocache=False, enable_ordering_guard=not shuffle)
        ds = self.builder.as_dataset(split=self.split, shuffle_files=shuffle, read_config=read,
                                     decoders={"image": tfds.decode.SkipDecoding()})
        if shuffle:
            ds = ds.shuffle(IMAGE_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
        return ds

    def person_rows(self, *, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
        """Top-down rows (the keys of :meth:`PersonRecords.columns`, plus ``image_bytes``)."""
        prefix = self._path_prefix()

        def persons(example):
            p = example["persons"]
            n = tf.shape(p["box"])[0]
            return tf.data.Dataset.from_tensor_slices({
                "image_path": tf.fill([n], prefix + example["file_name"]),
                "image_id": p["record_id"],
                "box": p["box"],
                "keypoints": _keypoints(p),
                "score": tf.ones([n], tf.float32),
                "image_bytes": tf.fill([n], example["image"]),
            })

        ds = self.examples(shuffle=shuffle, seed=seed).flat_map(persons)
        if shuffle:
            ds = ds.shuffle(PERSON_SHUFFLE_BUFFER, seed=seed + 1, reshuffle_each_iteration=True)
        return ds

    def image_rows(self, *, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
        """Bottom-up rows (the keys of :meth:`ImageRecords.columns`, plus ``image_bytes``)."""
        prefix = self._path_prefix()

        def row(example):
            return {"image_path": prefix + example["file_name"], "image_id": example["image_id"],
                    "image_size": example["image_size"],
                    "keypoints": _keypoints(example["labelled_persons"]),
                    "ignore_rle": example["ignore_rle"], "image_bytes": example["image"]}

        return self.examples(shuffle=shuffle, seed=seed).map(
            row, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not shuffle)

    def person_records(self) -> PersonRecords:
        """The split's top-down persons as in-memory records (reads the whole split)."""
        rows = list(self.person_rows().map(_without_bytes).as_numpy_iterator())
        k = self.keypoint_set.num_keypoints

        def column(key, shape):
            return np.stack([r[key] for r in rows]) if rows else np.zeros((0, *shape))

        return PersonRecords.from_lists(
            self.keypoint_set, [r["image_path"].decode() for r in rows],
            column("image_id", ()), column("box", (4,)), column("keypoints", (k, 3)),
            column("score", ()))

    def image_records(self) -> ImageRecords:
        """The split's images with their labelled persons as in-memory records."""
        rows = list(self.image_rows().map(_without_bytes).as_numpy_iterator())
        return ImageRecords.from_lists(
            self.keypoint_set, [r["image_path"].decode() for r in rows],
            [r["image_id"] for r in rows], [r["image_size"] for r in rows],
            [r["keypoints"] for r in rows], [r["ignore_rle"] for r in rows])

    def _path_prefix(self) -> str:
        # Rows name their image for warnings: "<dataset dir>/<split>/<file name>".
        return f"{self.builder.data_dir}/{self.split}/"


def _keypoints(persons) -> tf.Tensor:
    """Stored ``keypoints`` ``[P, K, 2]`` and ``visibility`` ``[P, K]`` -> ``[P, K, 3]``."""
    visibility = tf.cast(persons["visibility"], tf.float32)[..., None]
    return tf.concat([persons["keypoints"], visibility], axis=-1)


def _without_bytes(row):
    return {key: value for key, value in row.items() if key != "image_bytes"}


# ---- validation as official files ------------------------------------------------------------
def materialise_validation(split: PreparedSplit, cache: Path | None = None) -> DatasetFiles:
    """The validation split written back as official files in ``$TFPOSE_CACHE`` (once per
    prepared dataset and version); returns :class:`DatasetFiles` whose ``val_*`` point at
    them (the ``train_*`` entries name the prepared dataset's folder)."""
    builder = split.builder
    dataset = builder.info.metadata["dataset"]
    config = builder.builder_config.name if builder.builder_config else "default"
    # Keyed by the prepared dataset's folder: two data dirs never share a copy.
    source_key = hashlib.sha1(builder.data_dir.encode()).hexdigest()[:12]
    root = ((cache or cache_dir()) / "prepared" / f"{builder.name}-{source_key}" / config
            / VERSION / split.split)
    done = root / "COMPLETE"

    def write(folder: Path) -> None:
        _write_official_files(split, dataset, folder)
        (folder / done.name).write_text(builder.data_dir + "\n", encoding="utf-8")

    make_folder_once(root, done, write)
    ann = root / ("valid.json" if dataset == "mpii" else "annotations.json")
    mat = root / "gt_valid.mat"
    source = builder.data_dir  # a str: gs:// paths do not survive Path()
    return DatasetFiles(dataset, split.keypoint_set, source, source, ann, root / "images",
                        mat if mat.is_file() else None)


def _write_official_files(split: PreparedSplit, dataset: str, folder: Path) -> None:
    images_dir = folder / "images"
    images_dir.mkdir(parents=True)
    images, annotations, entries, truth = [], [], [], []
    examples = split.examples().map(lambda e: {key: e[key] for key in (
        "image", "file_name", "annotations")})
    for example in examples.as_numpy_iterator():
        name = example["file_name"].decode()
        (images_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (images_dir / name).write_bytes(example["image"])
        ground_truth = json.loads(example["annotations"])
        if dataset == "mpii":
            entries += ground_truth["entries"]
            if "gt_valid" in ground_truth:
                truth.append(ground_truth["gt_valid"])
        else:
            images.append(ground_truth["image"])
            annotations += ground_truth["annotations"]
    if dataset == "mpii":
        (folder / "valid.json").write_text(json.dumps(entries), encoding="utf-8")
        if truth:
            gt = MPIIGroundTruth(*(np.concatenate([np.asarray(t[key]) for t in truth])
                                   for key in ("joints", "visible", "head_boxes")))
            save_ground_truth_mat(folder / "gt_valid.mat", gt)
    else:
        coco = {"images": images, "annotations": annotations,
                "categories": split.builder.info.metadata["categories"]}
        (folder / "annotations.json").write_text(json.dumps(coco), encoding="utf-8")


def prepared_dataset(name: str, data_dir, *, data_root=None,
                     synthetic_images: tuple[int, int] = SYNTHETIC_IMAGES):
    """``(train split, validation files)`` of ``--data NAME --data-source tfds --data-dir DIR``.

    The train split is a :class:`tfpose.data.prepared.PreparedSplit` that the pipelines read
    like records; the validation files are the official files written back from the prepared
    validation split (a :class:`DatasetFiles` whose ``val_*`` entries point at them).
    """
    if data_root is not None:
        raise DataError(data_root, "--data-root is for --data-source raw; a prepared "
                        f"dataset is read from --data-dir (make it with `tfpose prepare "
                        f"{name} --manual-dir {data_root}`)")
    kwargs = {}
    if name == "synthetic":
        kwargs = {"synthetic_images": tuple(synthetic_images)}
        prepare("synthetic", data_dir, **kwargs)  # a no-op once it exists
    train = open_split(name, "train", data_dir, **kwargs)
    files = materialise_validation(
        open_split(name, "validation", data_dir, **kwargs))
    log.info("%s: reading %d training persons (%d images, %d shards) from the %s; validation "
             "from %s", name, len(train), train.num_images, train.num_shards,
             train.description, files.val_ann.parent)
    return train, files
