"""Dataset folders in the official layouts (tfpose.data.layouts), made of symlinks to the real
samples in ../shared/data, for tests of the readers, the evaluator and the training scripts."""

from pathlib import Path


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def coco_layout(root: Path, shared: Path) -> Path:
    """Train: the 80-image COCO train subset; val: the 4-image COCO val sample."""
    _link(root / "annotations" / "person_keypoints_train2017.json",
          shared / "coco_mini_train" / "annotations" / "person_keypoints_train2017.json")
    _link(root / "train2017", shared / "coco_mini_train" / "train2017")
    _link(root / "annotations" / "person_keypoints_val2017.json",
          shared / "coco_sample" / "test_coco.json")
    _link(root / "val2017", shared / "coco_sample")
    return root


def mpii_layout(root: Path, shared: Path) -> Path:
    """Train and val: the 5-person MPII sample (no gt_valid.mat)."""
    for split in ("train", "valid"):
        _link(root / "annot" / f"{split}.json", shared / "mpii_sample" / "test_mpii.json")
    _link(root / "images", shared / "mpii_sample")
    return root


def crowdpose_layout(root: Path, shared: Path) -> Path:
    """Trainval and test: the 5-person CrowdPose sample."""
    for split in ("trainval", "test"):
        _link(root / "json" / f"crowdpose_{split}.json",
              shared / "crowdpose_sample" / "test_crowdpose.json")
    _link(root / "images", shared / "crowdpose_sample")
    return root
