"""Prepared datasets (tfpose.data.prepared): each builder, made from the real samples in
../shared/data (and from synthetic figures) in a temp dir, reads back exactly what the raw-file
readers and pipelines read."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.engine.sample_layouts import coco_layout, crowdpose_layout, mpii_layout
from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.data import prepared
from tfpose.data.bottomup import bottomup_dataset
from tfpose.data.image_records import read_coco_images
from tfpose.data.layouts import locate_dataset, read_persons
from tfpose.data.mpii import MPIIGroundTruth, load_ground_truth_mat, save_ground_truth_mat
from tfpose.data.topdown import topdown_dataset
from tfpose.errors import DataError

CODEC = HeatmapCodec(input_size=(64, 48), heatmap_size=(16, 12))
LAYOUTS = {"coco": coco_layout, "mpii": mpii_layout, "crowdpose": crowdpose_layout}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def prepare_sample(name, tmp_path, shared_data):
    """(raw DatasetFiles, data_dir) of a real sample prepared in ``tmp_path``."""
    root = LAYOUTS[name](tmp_path / name, shared_data)
    data_dir = tmp_path / "tfds"
    prepared.prepare(name, data_dir, manual_dir=root)
    return locate_dataset(name, root), data_dir


def assert_same_persons(from_split, raw):
    assert len(from_split) == len(raw) > 0
    assert [Path(p).name for p in from_split.image_paths] == [Path(p).name
                                                              for p in raw.image_paths]
    np.testing.assert_array_equal(from_split.image_ids, raw.image_ids)
    np.testing.assert_array_equal(from_split.boxes, raw.boxes)
    np.testing.assert_array_equal(from_split.keypoints, raw.keypoints)
    np.testing.assert_array_equal(from_split.scores, raw.scores)


def assert_same_images(from_split, raw):
    assert len(from_split) == len(raw) > 0
    np.testing.assert_array_equal(from_split.image_ids, raw.image_ids)
    np.testing.assert_array_equal(from_split.image_sizes, raw.image_sizes)
    np.testing.assert_array_equal(from_split.person_splits, raw.person_splits)
    np.testing.assert_array_equal(from_split.keypoints, raw.keypoints)
    assert list(from_split.ignore_rles) == list(raw.ignore_rles)


def assert_same_batches(a, b):
    batches_a, batches_b = list(a.as_numpy_iterator()), list(b.as_numpy_iterator())
    assert len(batches_a) == len(batches_b) > 0
    for x, y in zip(batches_a, batches_b, strict=True):
        assert x.keys() == y.keys()
        for key in x:
            np.testing.assert_array_equal(x[key], y[key], err_msg=key)


@pytest.mark.parametrize("name", ["coco", "mpii", "crowdpose"])
def test_prepared_persons_and_image_bytes_equal_the_raw_files(name, tmp_path, shared_data,
                                                             cache):
    files, data_dir = prepare_sample(name, tmp_path, shared_data)
    for split, ann, images in (("train", files.train_ann, files.train_images),
                               ("validation", files.val_ann, files.val_images)):
        prepared_split = prepared.open_split(name, split, data_dir)
        raw = read_persons(files, ann, images)
        assert_same_persons(prepared_split.person_records(), raw)
        assert len(prepared_split) == len(raw)
        for example in prepared_split.examples().as_numpy_iterator():
            path = Path(images) / example["file_name"].decode()
            assert example["image"] == path.read_bytes()  # stored as the file, not re-encoded


@pytest.mark.parametrize("name", ["coco", "crowdpose"])
def test_prepared_images_equal_the_bottom_up_reader(name, tmp_path, shared_data, cache):
    files, data_dir = prepare_sample(name, tmp_path, shared_data)
    train = prepared.open_split(name, "train", data_dir)
    raw = read_coco_images(files.train_ann, files.train_images, files.keypoint_set)
    assert_same_images(train.image_records(), raw)
    assert train.num_images == len(raw)
    validation = prepared.open_split(name, "validation", data_dir)
    raw_val = read_coco_images(files.val_ann, files.val_images, files.keypoint_set,
                               keep_images_without_persons=True)
    assert_same_images(validation.image_records(), raw_val)


def test_coco_train_split_keeps_the_crowd_ignore_masks(tmp_path, shared_data, cache):
    files, data_dir = prepare_sample("coco", tmp_path, shared_data)
    records = prepared.open_split("coco", "train", data_dir).image_records()
    assert sum(len(rle) > 0 for rle in records.ignore_rles) > 0  # the mini train has crowds


def test_the_pipelines_make_the_same_batches_from_either_source(tmp_path, shared_data, cache):
    files, data_dir = prepare_sample("coco", tmp_path, shared_data)
    train = prepared.open_split("coco", "train", data_dir)
    raw = read_persons(files, files.train_ann, files.train_images)
    # Evaluation mode (in order, no augmentation); training boxes (grown over the keypoints).
    assert_same_batches(topdown_dataset(raw, CODEC, batch_size=16, cover_keypoints=True),
                        topdown_dataset(train, CODEC, batch_size=16, cover_keypoints=True))
    codec = BottomUpCodec(input_size=(64, 64), strides=(4, 2))
    raw_images = read_coco_images(files.train_ann, files.train_images, files.keypoint_set)
    assert_same_batches(bottomup_dataset(raw_images, codec, batch_size=8),
                        bottomup_dataset(train, codec, batch_size=8))


def test_training_reads_the_prepared_split_shuffled_and_repeated(tmp_path, shared_data, cache):
    _, data_dir = prepare_sample("coco", tmp_path, shared_data)
    train = prepared.open_split("coco", "train", data_dir)
    ds = topdown_dataset(train, CODEC, batch_size=8, train=True, repeat=True, seed=3)
    ids = [batch["image_id"] for batch in ds.take(2 * len(train) // 8).as_numpy_iterator()]
    first, second = np.concatenate(ids[:len(ids) // 2]), np.concatenate(ids[len(ids) // 2:])
    assert not np.array_equal(first, np.sort(first))  # shuffled, not in stored order
    assert not np.array_equal(first, second)  # each epoch in another order
    assert set(np.concatenate(ids)) <= set(train.person_records().image_ids)


@pytest.mark.parametrize("name", ["coco", "crowdpose"])
def test_validation_is_written_back_as_the_official_files(name, tmp_path, shared_data, cache):
    files, data_dir = prepare_sample(name, tmp_path, shared_data)
    written = prepared.materialise_validation(prepared.open_split(name, "validation", data_dir))
    original = json.loads(Path(files.val_ann).read_text())
    copy = json.loads(Path(written.val_ann).read_text())
    assert copy["images"] == sorted(original["images"], key=lambda image: image["id"])
    order = {image["id"]: i for i, image in enumerate(copy["images"])}
    assert copy["annotations"] == sorted(original["annotations"],
                                         key=lambda a: order[a["image_id"]])
    assert copy["categories"] == original["categories"]
    for image in copy["images"]:
        assert ((written.val_images / image["file_name"]).read_bytes()
                == (Path(files.val_images) / image["file_name"]).read_bytes())
    assert_same_persons(read_persons(written, written.val_ann, written.val_images),
                        read_persons(files, files.val_ann, files.val_images))
    again = prepared.materialise_validation(prepared.open_split(name, "validation", data_dir))
    assert again == written  # written once, then reused


def test_mpii_validation_keeps_the_official_ground_truth(tmp_path, shared_data, cache):
    root = mpii_layout(tmp_path / "mpii", shared_data)
    entries = json.loads((root / "annot" / "valid.json").read_text())
    rng = np.random.default_rng(0)
    joints = np.asarray([e["joints"] for e in entries], np.float64)
    truth = MPIIGroundTruth(joints, rng.random((len(entries), 16)) > 0.2,
                            rng.uniform(0, 300, (len(entries), 2, 2)))
    save_ground_truth_mat(root / "annot" / "gt_valid.mat", truth)
    prepared.prepare("mpii", tmp_path / "tfds", manual_dir=root)
    written = prepared.materialise_validation(
        prepared.open_split("mpii", "validation", tmp_path / "tfds"))
    assert json.loads(written.val_ann.read_text()) == entries
    copy = load_ground_truth_mat(written.mpii_ground_truth)
    np.testing.assert_array_equal(copy.joints, truth.joints)
    np.testing.assert_array_equal(copy.visible, truth.visible)
    np.testing.assert_array_equal(copy.head_boxes, truth.head_boxes)


def test_synthetic_figures_round_trip(tmp_path, cache):
    builder = prepared.prepare("synthetic", tmp_path / "tfds", synthetic_images=(6, 3))
    files = locate_dataset("synthetic", synthetic_images=(6, 3))
    assert builder.info.splits["train"].num_examples == 6
    for split, ann, images in (("train", files.train_ann, files.train_images),
                               ("validation", files.val_ann, files.val_images)):
        prepared_split = prepared.open_split("synthetic", split, tmp_path / "tfds",
                                             synthetic_images=(6, 3))
        assert_same_persons(prepared_split.person_records(), read_persons(files, ann, images))


def test_a_corrupt_stored_image_is_skipped_and_named(tmp_path, shared_data, cache, capfd):
    root = coco_layout(tmp_path / "coco", shared_data)
    broken = tmp_path / "val2017"
    broken.mkdir()
    for image in Path(shared_data / "coco_sample").glob("*.jpg"):
        (broken / image.name).write_bytes(image.read_bytes())
    victim = sorted(broken.glob("*.jpg"))[0]
    victim.write_bytes(victim.read_bytes()[:2000])  # truncated, as an interrupted copy
    (root / "val2017").unlink()
    (root / "val2017").symlink_to(broken)
    prepared.prepare("coco", tmp_path / "tfds", manual_dir=root)
    validation = prepared.open_split("coco", "validation", tmp_path / "tfds")
    batches = list(topdown_dataset(validation, CODEC, batch_size=32).as_numpy_iterator())
    raw = read_persons(locate_dataset("coco", root), root / "annotations" /
                       "person_keypoints_val2017.json", broken)
    kept = raw.image_paths != str(victim)
    assert len(batches[0]["image"]) == kept.sum() < len(raw)
    assert victim.name in capfd.readouterr().err


def test_an_unprepared_dataset_says_how_to_prepare_it(tmp_path):
    with pytest.raises(DataError, match="tfpose prepare coco --manual-dir"):
        prepared.open_split("coco", "train", tmp_path / "tfds")


def test_a_missing_or_wrong_manual_dir_names_the_layout(tmp_path):
    with pytest.raises(DataError, match="annot/.*train,valid"):
        prepared.prepare("mpii", tmp_path / "tfds", manual_dir=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty: coco .*annotations/person_keypoints_"):
        prepared.prepare("coco", tmp_path / "tfds", manual_dir=tmp_path / "empty")
    (tmp_path / "wrong").mkdir()
    (tmp_path / "wrong" / "README").write_text("not the layout")
    with pytest.raises(DataError, match="person_keypoints_train2017.json: not found"):
        prepared.prepare("coco", tmp_path / "tfds", manual_dir=tmp_path / "wrong")
    with pytest.raises(DataError, match="generated"):
        prepared.prepare("synthetic", tmp_path / "tfds", manual_dir=tmp_path / "empty")
    assert not (tmp_path / "tfds" / "tfpose_coco" / "1.0.0").exists()


def test_a_malformed_annotation_file_is_named_and_nothing_is_left_half_written(tmp_path,
                                                                              shared_data):
    root = coco_layout(tmp_path / "coco", shared_data)
    val = root / "annotations" / "person_keypoints_val2017.json"
    data = json.loads(val.read_text())
    data["annotations"][0]["keypoints"] = data["annotations"][0]["keypoints"][:-3]  # 16 joints
    val.unlink()
    val.write_text(json.dumps(data))
    with pytest.raises(DataError, match="person_keypoints_val2017.json.*expected 51"):
        prepared.prepare("coco", tmp_path / "tfds", manual_dir=root)
    with pytest.raises(DataError, match="no prepared coco dataset"):
        prepared.open_split("coco", "train", tmp_path / "tfds")
