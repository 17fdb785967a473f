"""tfpose evaluate on bottom-up model files: the authors' protocol by default, tfpose's on
request, and what a .tflite file with its fixed input can follow."""

import json
import logging

import pytest

from tests.engine.sample_layouts import coco_layout
from tests.evaluation.bottomup_oracles import blob_model
from tfpose.cli import main
from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.codecs.model_info import bottomup_info
from tfpose.export.convert import convert
from tfpose.keypoints import COCO_17
from tfpose.runtime.keras_files import save_model_atomically


@pytest.fixture(scope="module")
def blob_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("blob")
    model = blob_model((64, 64))
    info = bottomup_info(BottomUpCodec(input_size=(64, 64)), COCO_17, "blob")
    keras = save_model_atomically(model, folder / "blob.keras", info)
    tflite = folder / "blob.tflite"
    tflite.write_bytes(convert(model, info).flatbuffer)
    return {"keras": keras, "tflite": tflite}


@pytest.fixture(scope="module")
def coco_root(tmp_path_factory):
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.exists():
        pytest.skip(f"real dataset sample {SHARED_DATA} is absent")
    return coco_layout(tmp_path_factory.mktemp("coco"), SHARED_DATA)


def evaluate(capsys, *flags) -> tuple[int, dict | str]:
    """Exit status and the json metrics (``--json``), else what was printed (stdout, stderr)."""
    code = main(["evaluate", "--dataset", "coco", *flags])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 and "--json" in flags else out + err)


def test_bottom_up_evaluation_follows_the_authors_protocol_by_default(blob_files, coco_root,
                                                                      capsys):
    code, metrics = evaluate(capsys, "--model", str(blob_files["keras"]), "--data-root",
                             str(coco_root), "--json")
    assert code == 0 and metrics["metric"] == "AP" and metrics["num_images"] == 4
    protocol = metrics["protocol"]
    assert (protocol["name"], protocol["fit"], protocol["scales"]) == ("authors", "aligned", [1])
    assert protocol["grouping"] == {"stride": 1, "nms_kernel": 5, "detection_threshold": 0.1,
                                    "tag_threshold": 1.0, "adjust": "quarter", "refine": True}
    assert metrics["flip_test"] and 0.0 <= metrics["AP"] <= 1.0
    code, scaled = evaluate(capsys, "--model", str(blob_files["keras"]), "--data-root",
                            str(coco_root), "--scales", "0.5", "1", "2", "--max-images", "2",
                            "--json")
    assert code == 0 and scaled["protocol"]["scales"] == [0.5, 1, 2]
    code, fast = evaluate(capsys, "--model", str(blob_files["keras"]), "--data-root",
                          str(coco_root), "--protocol", "tfpose", "--max-images", "2", "--json")
    assert code == 0 and fast["protocol"]["fit"] == "fixed"
    assert fast["protocol"]["grouping"] == "the model's"


def test_a_tflite_file_keeps_its_fixed_input(blob_files, coco_root, capsys, caplog):
    with caplog.at_level(logging.WARNING, logger="tfpose"):
        code, metrics = evaluate(capsys, "--model", str(blob_files["tflite"]), "--data-root",
                                 str(coco_root), "--json")
    assert code == 0 and metrics["protocol"]["name"] == "authors"
    assert metrics["protocol"]["fit"] == "fixed" and metrics["protocol"]["grouping"]["stride"] == 1
    assert "runs at its fixed 64x64 input" in caplog.text
    code, err = evaluate(capsys, "--model", str(blob_files["tflite"]), "--data-root",
                         str(coco_root), "--scales", "0.5", "1")
    assert code == 2 and "cannot resize a .tflite input" in err
    code, _ = evaluate(capsys, "--model", str(blob_files["keras"]), "--data-root",
                       str(coco_root), "--scales", "0.5", "2")
    assert code == 2


def test_protocol_flags_are_checked(blob_files, coco_root, capsys):
    code, err = evaluate(capsys, "--model", str(blob_files["keras"]), "--data-root",
                         str(coco_root), "--protocol", "tfpose", "--scales", "1", "2")
    assert code == 2 and "part of the authors' protocol" in err
    code, out = evaluate(capsys, "--model", str(blob_files["keras"]), "--data-root",
                         str(coco_root), "--max-images", "1")
    assert code == 0 and "authors protocol (aligned input, scales 1)" in out
