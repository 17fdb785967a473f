import pytest

from tests.engine.sample_layouts import coco_layout, crowdpose_layout, mpii_layout
from tfpose.data.layouts import LAYOUTS, locate_dataset
from tfpose.errors import DataError
from tfpose.keypoints import COCO_17, CROWDPOSE_14, MPII_16


@pytest.mark.parametrize("name", ["coco", "mpii", "crowdpose"])
def test_a_missing_root_names_the_expected_layout(name, tmp_path):
    with pytest.raises(DataError) as error:
        locate_dataset(name, tmp_path / "nowhere")
    message = str(error.value)
    assert str(tmp_path / "nowhere") in message and LAYOUTS[name] in message
    assert "\n" not in message
    with pytest.raises(DataError, match="needs --data-root"):
        locate_dataset(name, None)


def test_a_missing_file_is_named(tmp_path):
    (tmp_path / "annotations").mkdir()
    with pytest.raises(DataError, match="person_keypoints_train2017.json: not found: the train "
                       "split's annotations"):
        locate_dataset("coco", tmp_path)


def test_a_root_with_only_the_validation_split_serves_what_reads_only_it(tmp_path, shared_data):
    root = coco_layout(tmp_path / "coco", shared_data)
    (root / "annotations" / "person_keypoints_train2017.json").unlink()
    (root / "train2017").unlink()
    files = locate_dataset("coco", root, splits=("validation",))
    assert files.val_ann.is_file() and files.val_images.is_dir()
    with pytest.raises(DataError, match="the train split's annotations"):
        locate_dataset("coco", root)
    (root / "val2017").unlink()
    with pytest.raises(DataError, match="val2017: image folder not found: the validation "
                       "split's images"):
        locate_dataset("coco", root, splits=("validation",))
    with pytest.raises(ValueError, match="splits must be"):
        locate_dataset("coco", root, splits=("test",))


def test_synthetic_data_takes_no_root(tmp_path):
    with pytest.raises(DataError, match="TFPOSE_CACHE"):
        locate_dataset("synthetic", tmp_path)
    with pytest.raises(DataError, match="unknown dataset"):
        locate_dataset("imagenet", tmp_path)


def test_synthetic_data_is_generated_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path))
    files = locate_dataset("synthetic", synthetic_images=(3, 2))
    assert files.keypoint_set is COCO_17 and files.coco_format
    assert files.train_ann.is_file() and files.val_ann.is_file()
    assert len(list(files.val_images.iterdir())) == 2
    assert locate_dataset("synthetic", synthetic_images=(3, 2)) == files


def test_official_layouts_of_the_real_samples(tmp_path, shared_data):
    coco = locate_dataset("coco", coco_layout(tmp_path / "coco", shared_data))
    assert coco.keypoint_set is COCO_17 and coco.val_images.name == "val2017"
    mpii = locate_dataset("mpii", mpii_layout(tmp_path / "mpii", shared_data))
    assert mpii.keypoint_set is MPII_16 and not mpii.coco_format
    assert mpii.mpii_ground_truth is None
    crowdpose = locate_dataset("crowdpose", crowdpose_layout(tmp_path / "cp", shared_data))
    assert crowdpose.keypoint_set is CROWDPOSE_14 and crowdpose.val_ann.name == \
        "crowdpose_test.json"


def test_a_prepared_source_refuses_a_data_root(tmp_path):
    from tfpose.data.prepared import prepared_dataset

    with pytest.raises(DataError, match="tfpose prepare coco --manual-dir"):
        prepared_dataset("coco", str(tmp_path / "tfds"), data_root=tmp_path)
