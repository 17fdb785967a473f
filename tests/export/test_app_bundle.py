"""Converted models into the Android demo's assets (tfpose.export.app_bundle)."""

import dataclasses

import pytest

from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.codecs.grouping import JOINT_ORDERS, GroupingConfig
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.codecs.model_info import attach_to_tflite, bottomup_info, topdown_info
from tfpose.errors import DataError
from tfpose.export.app_bundle import app_properties, bundle, main
from tfpose.export.convert import convert
from tfpose.keypoints import COCO_17, MPII_16

from .test_convert import CODEC, INFO, float_model


def _properties(text: str) -> dict:
    return dict(line.split("=", 1) for line in text.splitlines())


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for name, info, decoder in (("heatmaps", INFO, False), ("decoded", INFO, True),
                                ("sigmoid", topdown_info(dataclasses.replace(
                                    CODEC, output="sigmoid"), COCO_17, "tiny"), False)):
        paths[name] = folder / f"{name}.tflite"
        paths[name].write_bytes(convert(float_model(), info, decoder=decoder).flatbuffer)
    return paths


def test_properties_say_how_each_output_decodes(converted):
    for name, output in (("heatmaps", "gaussian"), ("decoded", "decoded"),
                         ("sigmoid", "sigmoid")):
        values = _properties(app_properties(converted[name]))
        assert values == {"label": f"{name} (topdown)", "kind": "topdown", "keypoints": "coco",
                          "output": output, "binary": "false", "model": "tiny",
                          "convention": "tfpose"}


def test_properties_carry_the_pixel_convention(converted, tmp_path):
    # Only the model information matters here, not whether the graph is a bottom-up one.
    flatbuffer = converted["heatmaps"].read_bytes()
    older = dict(INFO.codec)
    del older["convention"]  # model information written before conventions: tfpose's
    for name, info, want in (
            ("msra", topdown_info(dataclasses.replace(CODEC, convention="msra"), COCO_17),
             "msra"),
            ("lp_msra", bottomup_info(BottomUpCodec(input_size=(64, 48), strides=(4, 2),
                                                    convention="msra"), COCO_17), "msra"),
            ("older", INFO.replace(codec=older), "tfpose")):
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(attach_to_tflite(flatbuffer, info))
        assert _properties(app_properties(path))["convention"] == want, name
    odd = tmp_path / "odd.tflite"
    odd.write_bytes(attach_to_tflite(flatbuffer, INFO.replace(
        codec={**INFO.codec, "convention": "sideways"})))
    with pytest.raises(DataError, match="unknown pixel convention 'sideways'") as error:
        app_properties(odd)
    assert str(odd) in str(error.value)


def test_bottomup_properties_carry_the_grouping_settings(converted, tmp_path):
    # Only the model information matters here, not whether the graph is a bottom-up one.
    flatbuffer = converted["heatmaps"].read_bytes()
    default = BottomUpCodec(input_size=(64, 48), strides=(4, 2))
    other = BottomUpCodec(input_size=(64, 48), strides=(4, 2), grouping=GroupingConfig(
        nms_kernel=3, max_candidates=12, detection_threshold=0.05, tag_threshold=0.75,
        use_detection_value=False, refine=False, refine_within_tag_threshold=True,
        adjust="none", grouping_stride=1, joint_order=tuple(range(17))))
    want = {
        "default": ("5", "30", "0.1", "1.0", "true", "true", "false", "quarter",
                    ",".join(map(str, JOINT_ORDERS["coco"])), "2"),
        "other": ("3", "12", "0.05", "0.75", "false", "false", "true", "none",
                  ",".join(map(str, range(17))), "1")}
    keys = ("nms_kernel", "max_candidates", "detection_threshold", "tag_threshold",
            "use_detection_value", "refine", "refine_within_tag_threshold", "adjust",
            "joint_order", "stride")
    for name, codec in (("default", default), ("other", other)):
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(attach_to_tflite(flatbuffer, bottomup_info(codec, COCO_17, "lp")))
        values = _properties(app_properties(path))
        assert values["kind"] == "bottomup" and values["output"] == "gaussian"
        assert {k: values[f"grouping.{k}"] for k in keys} == dict(zip(keys, want[name],
                                                                      strict=True))
    topdown = _properties(app_properties(converted["heatmaps"]))
    assert not any(key.startswith("grouping.") for key in topdown)


def test_bundle_copies_models_beside_their_properties(converted, tmp_path):
    written = bundle([converted["decoded"], converted["heatmaps"]], tmp_path)
    assert [p.name for p in written] == ["decoded.tflite", "heatmaps.tflite"]
    assert (tmp_path / "models" / "decoded.tflite").read_bytes() == \
        converted["decoded"].read_bytes()
    assert (tmp_path / "models" / "heatmaps.properties").is_file()


def test_bad_models_are_named_and_nothing_is_written(converted, tmp_path, capsys):
    mpii = tmp_path / "mpii.tflite"
    codec = HeatmapCodec(input_size=(64, 48), heatmap_size=(16, 12))
    mpii.write_bytes(convert(float_model(), topdown_info(codec, MPII_16, "m")).flatbuffer)
    corrupt = tmp_path / "corrupt.tflite"
    corrupt.write_bytes(b"not a flatbuffer at all")
    assets = tmp_path / "assets"
    for bad, problem in ((mpii, "has mpii keypoints"), (corrupt, "not a readable .tflite"),
                         (tmp_path / "missing.tflite", "model file not found")):
        assert main([str(converted["heatmaps"]), str(bad), "--assets", str(assets)]) == 2
        err = capsys.readouterr().err
        assert str(bad) in err and problem in err, err
        assert not (assets / "models" / "heatmaps.tflite").exists()
