import pytest

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.data.bundled import synthetic_dataset
from tfpose.evaluation.codec_check import codec_check

CODEC = HeatmapCodec(input_size=(256, 192), heatmap_size=(64, 48), sigma=2.0)


def test_dark_reaches_the_required_upper_bound_on_real_coco(coco_mini_train):
    ann = coco_mini_train / "annotations" / "person_keypoints_train2017.json"
    dark = codec_check(ann, CODEC, decoder="dark", progress=False)
    argmax = codec_check(ann, CODEC, decoder="argmax", progress=False)
    assert dark["AP"] >= 0.98
    assert dark["num_persons"] == 86
    assert dark["mean_error_px"] < argmax["mean_error_px"]


def test_bare_annotation_boxes_lose_joints_labelled_outside_them(coco_mini_train):
    ann = coco_mini_train / "annotations" / "person_keypoints_train2017.json"
    bare = codec_check(ann, CODEC, boxes="annotation", progress=False)
    grown = codec_check(ann, CODEC, boxes="training", progress=False)
    assert bare["AP"] < grown["AP"]


def test_crowdpose_sample(crowdpose_sample):
    result = codec_check(crowdpose_sample / "test_crowdpose.json", CODEC, dataset="crowdpose",
                         progress=False)
    assert result["AP"] >= 0.98


def test_synthetic_data_round_trips(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path))
    ann, images = synthetic_dataset("val", num_images=12, progress=False)
    result = codec_check(ann, CODEC, progress=False)
    assert result["AP"] >= 0.98 and result["num_persons"] >= 12
    assert images.is_dir()


def test_unknown_box_mode(coco_sample):
    with pytest.raises(ValueError, match="boxes"):
        codec_check(coco_sample / "test_coco.json", CODEC, boxes="detector", progress=False)
