import json
import subprocess
import sys

import numpy as np
import pytest

from tfpose.cli import build_parser, main
from tfpose.data.mpii import MPIIGroundTruth, save_ground_truth_mat

COMMANDS = ("codec-check", "evaluate-mpii", "show-dataset", "make-synthetic", "summary",
            "lce-check")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: tfpose " + command in capsys.readouterr().out


def test_console_script_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "tfpose.cli", "--version"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("tfpose ")


def test_codec_check_json(coco_sample, capsys):
    code, out, _ = run(capsys, "codec-check", "--ann", str(coco_sample / "test_coco.json"),
                       "--input-size", "256x192", "--heatmap-size", "64x48", "--json")
    assert code == 0
    assert json.loads(out)["AP"] >= 0.98


def test_codec_check_all_decoders(coco_sample, capsys):
    code, out, _ = run(capsys, "codec-check", "--ann", str(coco_sample / "test_coco.json"),
                       "--decoder", "all", "--json")
    assert code == 0 and set(json.loads(out)) == {"argmax", "quarter", "dark"}


def test_missing_annotation_file_is_one_clear_line(tmp_path, capsys):
    missing = tmp_path / "nope.json"
    code, out, err = run(capsys, "codec-check", "--ann", str(missing))
    assert code == 2 and out == ""
    assert str(missing) in err and "file not found" in err and "Traceback" not in err


def test_bad_size_flag_is_rejected(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["codec-check", "--input-size", "256by192"])
    assert exit_info.value.code == 2
    assert "HEIGHTxWIDTH" in capsys.readouterr().err


def test_evaluate_mpii(tmp_path, capsys):
    rng = np.random.default_rng(0)
    joints = rng.uniform(50, 300, (6, 16, 2))
    heads = np.stack([joints[:, 9] - 10, joints[:, 9] + 10], axis=1)
    gt = MPIIGroundTruth(joints=joints, visible=np.ones((6, 16), bool), head_boxes=heads)
    save_ground_truth_mat(tmp_path / "gt.mat", gt)
    np.save(tmp_path / "pred.npy", joints - 1.0)  # 0-based predictions of the ground truth
    code, out, _ = run(capsys, "evaluate-mpii", "--pred", str(tmp_path / "pred.npy"),
                       "--gt", str(tmp_path / "gt.mat"), "--json")
    result = json.loads(out)
    assert code == 0 and result["Mean"] == pytest.approx(100.0)
    assert len(result["per_joint"]) == 16


def test_evaluate_mpii_wrong_person_count(tmp_path, capsys):
    joints = np.ones((3, 16, 2)) * 10
    gt = MPIIGroundTruth(joints=joints, visible=np.ones((3, 16), bool),
                         head_boxes=np.stack([joints[:, 9] - 5, joints[:, 9] + 5], axis=1))
    save_ground_truth_mat(tmp_path / "gt.mat", gt)
    np.save(tmp_path / "pred.npy", np.zeros((2, 16, 2)))
    code, _, err = run(capsys, "evaluate-mpii", "--pred", str(tmp_path / "pred.npy"),
                       "--gt", str(tmp_path / "gt.mat"))
    assert code == 2 and "pred.npy" in err and "2 persons" in err


def test_show_dataset_draws_images_and_crops(coco_sample, tmp_path, capsys):
    code, out, _ = run(capsys, "show-dataset", "--ann", str(coco_sample / "test_coco.json"),
                       "--images", str(coco_sample), "--out", str(tmp_path), "--augment",
                       "--num-images", "2", "--json")
    written = json.loads(out)["written"]
    assert code == 0 and len(written) == 3 and written[-1].endswith("crops.png")
    assert all((tmp_path / p).is_file() for p in written)


def test_make_synthetic_then_check_it(tmp_path, capsys):
    code, out, _ = run(capsys, "make-synthetic", "--out", str(tmp_path), "--num-images", "4",
                       "--image-size", "128x96", "--json")
    ann = json.loads(out)["annotations"]
    assert code == 0
    code, out, _ = run(capsys, "codec-check", "--ann", ann, "--json")
    assert code == 0 and json.loads(out)["AP"] > 0.9


def test_codec_check_bottom_up_json(crowdpose_sample, capsys):
    code, out, _ = run(capsys, "codec-check", "--bottom-up", "--ann",
                       str(crowdpose_sample / "test_crowdpose.json"), "--dataset", "crowdpose",
                       "--input-size", "256x256", "--flip-test", "--json")
    result = json.loads(out)
    assert code == 0 and result["AP"] >= 0.95
    assert result["input_size"] == "256x256" and result["flip"] is True
    assert result["num_persons"] == 4 and "AP_hard" in result


@pytest.mark.parametrize("protocol", [None, "authors", "tfpose"])
def test_codec_check_bottom_up_under_each_protocol(protocol, coco_sample, capsys):
    """The authors' protocol by default, as `tfpose evaluate` has it."""
    flags = ["--protocol", protocol] if protocol else []
    code, out, _ = run(capsys, "codec-check", "--bottom-up", "--ann",
                       str(coco_sample / "test_coco.json"), "--input-size", "512x512", *flags,
                       "--json")
    result = json.loads(out)
    assert code == 0 and result["protocol"] == (protocol or "authors")
    assert result["AP"] >= 0.98 and result["missed_persons"] == 0


def test_codec_check_protocol_needs_bottom_up(coco_sample, capsys):
    code, out, err = run(capsys, "codec-check", "--ann", str(coco_sample / "test_coco.json"),
                         "--protocol", "tfpose")
    assert code == 2 and out == ""
    assert "--protocol is a bottom-up test-time protocol: add --bottom-up" in err
    assert len(err.strip().splitlines()) == 1


def test_codec_check_bottom_up_rejects_a_size_off_the_output_grid(coco_sample, capsys):
    code, out, err = run(capsys, "codec-check", "--bottom-up", "--ann",
                         str(coco_sample / "test_coco.json"), "--input-size", "510x512")
    assert code == 2 and out == ""
    assert "not divisible by output stride 4" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def _tiny_binary_model(args):
    """Two binary convs (the first bit-packed into the second), a residual add, a float conv."""
    import tensorflow as tf

    from tfpose.layers.binary import QuantPolicy

    tf.keras.utils.set_random_seed(0)
    conv, bn = QuantPolicy().conv, tf.keras.layers.BatchNormalization
    x = tf.keras.Input((16, 16, 3))
    y = tf.keras.layers.Conv2D(32, 3, padding="same")(x)
    z = bn()(conv(32)(bn()(conv(32)(y))))
    return tf.keras.Model(x, tf.keras.layers.Add()([y, z]))


def test_lce_check_times_the_float_ops_left(monkeypatch, capsys):
    """On by default: the float op types with their ms and share of the ops' summed host time,
    and the binary / float split (tfpose.op_profile)."""
    import tfpose.cli.models

    monkeypatch.setattr(tfpose.cli.models, "_build", _tiny_binary_model)
    code, out, _ = run(capsys, "lce-check", "tiny", "--runs", "1", "--json")
    timing = json.loads(out)["host_time"]
    assert code == 0 and timing["runs"] == 1 and timing["threads"] == 1
    floats = {row["op"]: row for row in timing["float_ops"]}
    assert set(floats) == {"CONV_2D", "LceQuantize", "ADD"}
    assert floats["ADD"]["count"] == 1 and floats["CONV_2D"]["count"] == 1
    assert timing["binary_ms"] > 0 and timing["whole_ms"] > 0
    assert sum(row["ms"] for row in floats.values()) == pytest.approx(timing["float_ms"],
                                                                      abs=2e-3)
    assert timing["binary_share"] + timing["float_share"] == pytest.approx(1, abs=1e-3)
    assert timing["sum_of_ops_ms"] == pytest.approx(timing["binary_ms"] + timing["float_ms"],
                                                    abs=2e-3)
    code, out, _ = run(capsys, "lce-check", "tiny", "--runs", "1")
    lines = out.splitlines()
    assert code == 0 and "totals: 2 of 2 BN fused, 1 of 2 outputs bitpacked" in out
    start = lines.index("float ops left:") + 2
    rows = [line.split() for line in lines[start:]]
    assert sorted(row[0] for row in rows) == ["ADD", "CONV_2D", "LceQuantize"]
    assert all(row[3].endswith("%") for row in rows)
    assert any(line.strip().startswith("whole file") and "binary" in line for line in lines)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["lce-check", "tiny", "--runs", "0"])
