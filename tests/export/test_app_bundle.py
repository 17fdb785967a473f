"""Converted models into the Android demo's assets (tfpose.export.app_bundle)."""

import dataclasses

import pytest

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.codecs.model_info import topdown_info
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
                          "output": output, "binary": "false", "model": "tiny"}


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
