import json

import larq as lq
import numpy as np
import pytest

from tests.training.scripts import run_in_process, run_subprocess
from tfpose.codecs.model_info import read_keras_info
from tfpose.data.layouts import LAYOUTS
from tfpose.models import create
from tfpose.runtime.keras_files import load_keras_model

TINY_DATA = ["--synthetic-images", "8", "4", "--batch-size", "2", "--steps-per-epoch", "2",
             "--model-option", "width=8", "--input-size", "64x64"]
# Eager steps skip the tracing of each phase's graphs (here ~75 s -> ~25 s per run; under
# MirroredStrategy 170 s -> 45 s); graph mode runs in the small main job (test_main_job.py).
TINY_RUN = [*TINY_DATA, "--run-eagerly"]


@pytest.fixture(scope="module")
def one_epoch_run(cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("bihrnet")
    assert run_in_process("train_bihrnet", [*TINY_RUN, "--epochs", "1", "--teacher-epochs",
                                            "1", "--out", out]) == 0
    return out


def history(out, phase):
    return json.loads((out / phase / "history.json").read_text())


def test_smoke_run_writes_every_artefact(one_epoch_run):
    out = one_epoch_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["metric"] == "PCK@0.5" and metrics["data"] == "synthetic"
    assert list(metrics["results"]) == ["baseline", "teacher", "stage1", "student"]
    for result in metrics["results"].values():
        assert 0.0 <= result["PCK@0.5"] <= 1.0 and result["num_persons"] > 0
    for phase in ("teacher", "stage1", "stage2"):
        assert (out / phase / "checkpoints" / "ckpt-1.index").is_file()
        assert (out / phase / "best.keras").is_file()
        assert list((out / phase / "logs").rglob("*tfevents*"))
        (entry,) = history(out, phase)
        assert entry["epoch"] == 1 and entry["step"] == 2 and np.isfinite(entry["loss"])
        assert "val_PCK@0.5" in entry
    assert {"kl", "awing", "kl_loss_share", "kl_grad_share"} <= history(out, "stage2")[0].keys()
    for name in ("predictions.png", "curves.png", "teacher.keras", "stage1.keras",
                 "config.json"):
        assert (out / name).is_file(), name
    student = load_keras_model(out / "model.keras")
    assert student.output_shape == (None, 16, 16, 17)
    binary = [layer for layer in student.layers if isinstance(layer, lq.layers.QuantConv2D)]
    assert binary and all(layer.kernel_quantizer is not None for layer in binary)
    assert metrics["model_path"] == str(out / "model.keras")
    info = read_keras_info(out / "model.keras")  # the codec travels with the model
    assert info.kind == "topdown" and info.keypoints == "coco"
    assert info.heatmap_codec().heatmap_size == (16, 16) and info.codec["sigma"] == 1.5
    assert read_keras_info(out / "stage2" / "best.keras") == info


def test_resume_continues_every_phase_to_more_epochs(one_epoch_run):
    out = one_epoch_run
    before = load_keras_model(out / "teacher.keras").get_weights()
    assert run_in_process("train_bihrnet", [*TINY_RUN, "--epochs", "2", "--teacher-epochs",
                                            "1", "--out", out, "--resume"]) == 0
    # The finished teacher was restored, not retrained; the stages went on from their step.
    assert [e["epoch"] for e in history(out, "teacher")] == [1]
    after = load_keras_model(out / "teacher.keras").get_weights()
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    for phase in ("stage1", "stage2"):
        # What an uninterrupted two-epoch run logs: 2 steps per epoch, optimiser steps 2, 4.
        assert [(e["epoch"], e["step"]) for e in history(out, phase)] == [(1, 2), (2, 4)]
        assert (out / phase / "checkpoints" / "ckpt-2.index").is_file()


def test_resume_refuses_another_model(one_epoch_run, capsys):
    status = run_in_process("train_bihrnet", [*TINY_RUN, "--model-option", "width=16",
                                              "--out", one_epoch_run, "--resume"])
    assert status == 2
    assert "other settings" in capsys.readouterr().err


def test_missing_data_root_is_one_line_with_the_layout(tmp_path):
    result = run_subprocess("train_bihrnet", ["--data", "coco", "--data-root",
                                              tmp_path / "coco", "--out", tmp_path / "run"])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert str(tmp_path / "coco") in line and LAYOUTS["coco"] in line


TWO_CPUS = """
import tfpose
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
"""


def test_mirrored_strategy_on_two_logical_cpus_with_a_given_teacher(cache, tmp_path):
    teacher = create("hrnet_w32", input_size=(64, 64), num_keypoints=17, width=8,
                     modules=(1, 1, 1), branch_blocks=1, stage1_blocks=1)
    teacher.save(tmp_path / "teacher.keras")
    result = run_subprocess(
        "train_bihrnet", [*TINY_RUN, "--batch-size", "4", "--epochs", "1", "--strategy",
                          "mirrored", "--teacher", tmp_path / "teacher.keras", "--out",
                          tmp_path / "run"], prelude=TWO_CPUS, env={"TFPOSE_CACHE": str(cache)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert ("MirroredStrategy with 2 replica(s) on 1 worker(s); global batch 4 = 2 x 2 per "
            "replica" in result.stderr)
    assert not (tmp_path / "run" / "teacher").exists()  # the given teacher was used
    for phase in ("stage1", "stage2"):
        (entry,) = history(tmp_path / "run", phase)
        assert entry["step"] == 2 and np.isfinite(entry["loss"]) and entry["kl"] > 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["teacher_path"] == str(tmp_path / "teacher.keras")


def test_a_missing_teacher_or_a_bad_weight_is_named(cache, tmp_path, capsys):
    argv = [*TINY_RUN, "--out", tmp_path / "run"]
    assert run_in_process("train_bihrnet", [*argv, "--teacher", tmp_path / "none.keras"]) == 2
    assert f"{tmp_path / 'none.keras'}: teacher file not found" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"not a zip archive")
    assert run_in_process("train_bihrnet", [*argv, "--teacher", corrupt]) == 2
    assert f"{corrupt}: cannot load the teacher" in capsys.readouterr().err
    assert run_in_process("train_bihrnet", [*argv, "--kl-weight", "-1"]) == 2
    assert "kl_weight" in capsys.readouterr().err


def test_mpii_preset_trains_at_hrnets_mpii_size(tmp_path, shared_data):
    """--model-size mpii on MPII's layout (the 5-person sample): 256x256 crops, 64x64 heatmaps
    of the 16 joints, validation with flip test (a reduced W8 HRNet / BiHRNet)."""
    from tests.engine.sample_layouts import mpii_layout

    root = mpii_layout(tmp_path / "mpii", shared_data)
    out = tmp_path / "run"
    reduced = ["--model-option", "width=8", "--model-option", "modules=(1,1,1)",
               "--model-option", "branch_blocks=1", "--model-option", "stage1_blocks=1"]
    assert run_in_process("train_bihrnet", [
        "--data", "mpii", "--data-root", root, "--model-size", "mpii", *reduced,
        "--epochs", "1", "--teacher-epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2",
        "--run-eagerly", "--out", out]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"] == "mpii" and metrics["flip_test"] is True
    student = load_keras_model(out / "model.keras")
    assert student.input_shape == (None, 256, 256, 3)
    assert student.output_shape == (None, 64, 64, 16)
    codec = read_keras_info(out / "model.keras").heatmap_codec()
    assert codec.heatmap_size == (64, 64) and codec.sigma == 2.0
