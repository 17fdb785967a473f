"""The embedded default dataset: synthetic figures, generated on first use and cached.

The cache lives in ``$TFPOSE_CACHE`` (default ``~/.cache/tfpose``), one folder per generator
setting, so demos, tests and the main job never download anything. A folder is only ever seen
complete: it is generated under a temporary name and renamed into place
(:func:`tfpose.files.make_folder_once`, which the prepared datasets' validation copies use too).
"""

from __future__ import annotations

import os
from pathlib import Path

from tfpose.data.synthetic import make_synthetic_dataset
from tfpose.files import make_folder_once


def cache_dir() -> Path:
    return Path(os.environ.get("TFPOSE_CACHE", Path.home() / ".cache" / "tfpose"))


def synthetic_dataset(split: str = "train", num_images: int = 256, *, seed: int = 0,
                      image_size: tuple[int, int] = (256, 256), progress: bool = True):
    """``(annotation_file, image_dir)`` of a cached synthetic split, generating it if needed.

    Train and validation splits use different seeds, so they never share a figure.
    """
    split_seed = seed + {"train": 0, "val": 1_000_003}.get(split, 2_000_003)
    name = f"synthetic_{split}_{num_images}_{image_size[0]}x{image_size[1]}_seed{seed}"
    root = cache_dir() / name
    ann_file = root / "annotations" / f"person_keypoints_{split}.json"
    make_folder_once(root, ann_file, lambda staging: make_synthetic_dataset(
        staging, num_images, image_size=image_size, seed=split_seed, split=split,
        progress=progress))
    return ann_file, root / "images" / split
