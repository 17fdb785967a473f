"""``tfpose import-weights``: a checkpoint in, a .keras model that every command takes out; a
checkpoint that does not fit is one line naming the key and both shapes, and nothing is written."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.weights import references as ref
from tfpose.cli import main
from tfpose.codecs.model_info import read_keras_info
from tfpose.models.litepose import VARIANTS


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """The LitePose-XS authors' layout, as their training saved it."""
    path = tmp_path_factory.mktemp("ckpt") / "LitePose-XS.pth.tar"
    net = ref.calibrate(ref.LitePose(VARIANTS["xs"]), (64, 64))
    ref.torch.save({"epoch": 3, "state_dict": {f"module.{k}": v
                                               for k, v in net.state_dict().items()}}, path)
    return path


def _import(checkpoint, out, *flags):
    return main(["import-weights", str(checkpoint), "--out", str(out), *flags])


def test_writes_a_model_that_loads_after_import_tfpose(checkpoint, tmp_path, capsys):
    out = tmp_path / "litepose_xs.keras"
    assert _import(checkpoint, out, "--model", "litepose_xs", "--input-size", "64x64",
                   "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["layout"] == "litepose" and summary["left_layers"] == []
    state = ref.torch.load(checkpoint)["state_dict"]
    tensors = [k for k in state if not k.endswith("num_batches_tracked")]
    assert summary["tensors"] == len(tensors) and summary["keypoints"] == "coco"
    info = read_keras_info(out)
    assert info.kind == "bottomup" and info.model == "litepose_xs"
    assert info.codec["strides"] == [4, 2] and info.extra["weights"]["layout"] == "litepose"
    code = ("import tfpose, tensorflow as tf, numpy as np\n"
            f"m = tf.keras.models.load_model({str(out)!r}, compile=False)\n"
            "print([list(o.shape) for o in m(np.zeros((1, 64, 64, 3), np.float32))])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[[1, 16, 16, 34], [1, 32, 32, 17]]"


def test_prints_what_it_filled(checkpoint, tmp_path, capsys):
    assert _import(checkpoint, tmp_path / "m.keras", "--model", "litepose_xs",
                   "--input-size", "64x64") == 0
    out = capsys.readouterr().out
    assert "the LitePose authors' checkpoint (mit-han-lab/litepose)" in out
    modules = {k.rsplit(".", 1)[0] for k in ref.torch.load(checkpoint)["state_dict"]}
    assert f"filled {len(modules)} layers of litepose_xs" in out


@pytest.mark.parametrize("flags, message", [
    (["--model", "hrnet_w18"], "holds the LitePose authors' checkpoint (mit-han-lab/litepose) "
                               "(it fits litepose_xs), which does not fit --model hrnet_w18"),
    (["--model", "litepose_s"], "key stage.3.0.point_conv.0.weight has shape (80, 288, 1, 1), "
                                "litepose_s needs (120, 288, 1, 1) (layer stage4_b0_project_conv);"
                                " the checkpoint looks like litepose_xs"),
    (["--model", "litepose_xs", "--num-keypoints", "14"],
     "predicts 17 keypoints, --num-keypoints says 14"),
    (["--model", "bihrnet_w32"], "bihrnet_w32 has no published weights to import")])
def test_a_checkpoint_that_does_not_fit_writes_nothing(checkpoint, tmp_path, capsys, flags,
                                                       message):
    out = tmp_path / "model.keras"
    out.write_bytes(b"an earlier model")  # what was there stays
    assert _import(checkpoint, out, "--input-size", "64x64", *flags) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and str(checkpoint) in err[0], err
    assert out.read_bytes() == b"an earlier model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]  # no temporary left


def test_a_key_left_over_is_refused(checkpoint, tmp_path, capsys):
    state = ref.torch.load(checkpoint)["state_dict"]
    state["module.final_refined.2.conv.0.weight"] = ref.torch.zeros(8, 1, 5, 5)
    extra = tmp_path / "extra.pth"
    ref.torch.save(state, extra)
    assert _import(extra, tmp_path / "m.keras", "--model", "litepose_xs") == 2
    err = capsys.readouterr().err
    assert "key final_refined.2.conv.0.weight (8, 1, 5, 5) of the LitePose authors' checkpoint" \
           " (mit-han-lab/litepose) land in no weight of litepose_xs" in err
    assert not (tmp_path / "m.keras").exists()


@pytest.mark.parametrize("name, message", [("photo.jpg", "unknown checkpoint format"),
                                           ("none.pth", "checkpoint file not found")])
def test_not_a_checkpoint(tmp_path, capsys, name, message):
    path = tmp_path / name
    if name == "photo.jpg":
        path.write_bytes(np.zeros(16, np.uint8).tobytes())
    assert _import(path, tmp_path / "m.keras", "--model", "hrnet_w32") == 2
    assert f"{path}: {message}" in capsys.readouterr().err


def test_the_output_must_be_a_keras_file(checkpoint, tmp_path, capsys):
    assert _import(checkpoint, tmp_path / "m.h5", "--model", "litepose_xs") == 2
    assert "m.h5: the output must be a .keras file" in capsys.readouterr().err
