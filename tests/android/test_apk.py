"""android_demo/build_apk.sh on this machine: a signed, verified APK with a binary and a float
model bundled (the script itself checks signature, badging, classes and uncompressed models)."""

import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.codecs.model_info import topdown_info
from tfpose.export.convert import convert
from tfpose.keypoints import COCO_17
from tfpose.models import create

from ..export.test_convert import INFO, float_model

SCRIPT = Path(__file__).parents[2] / "android_demo" / "build_apk.sh"


def _build(build_dir, **env):
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "BUILD_DIR": str(build_dir), **env})


@pytest.mark.slow
def test_apk_with_a_binary_and_a_float_model(tmp_path):
    binary = create("bihrnet_w18", input_size=(64, 64), modules=(1, 1, 1), branch_blocks=1)
    codec = HeatmapCodec(input_size=(64, 64), heatmap_size=(16, 16))
    models = {"bihrnet_decoded.tflite": convert(binary, topdown_info(codec, COCO_17, "bihrnet"),
                                                decoder=True),
              "float_heatmaps.tflite": convert(float_model(), INFO)}
    for name, conversion in models.items():
        (tmp_path / name).write_bytes(conversion.flatbuffer)
    done = _build(tmp_path / "build", MODELS=" ".join(str(tmp_path / n) for n in models))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "built and verified" in done.stdout
    with zipfile.ZipFile(tmp_path / "build" / "tfpose-demo.apk") as apk:
        entries = {info.filename: info for info in apk.infolist()}
        for name in models:
            assert entries[f"assets/models/{name}"].compress_type == zipfile.ZIP_STORED
        binary_properties = apk.read("assets/models/bihrnet_decoded.properties").decode()
        assert "output=decoded" in binary_properties and "binary=true" in binary_properties
        assert "classes.dex" in entries


@pytest.mark.slow
def test_a_missing_aar_is_named(tmp_path):
    done = _build(tmp_path / "build", LCE_AAR=str(tmp_path / "nowhere.aar"))
    assert done.returncode == 1
    assert f"LCE_AAR={tmp_path / 'nowhere.aar'}: file not found" in done.stderr
