"""The main job, ``python training/train_bihrnet.py``, at a smaller size (graph mode, as run)."""

import json
import os
import subprocess
import sys

import pytest

from tests.training.scripts import REPO, run_in_process

MARGIN = 0.10  # PCK@0.5 points above the untrained baseline (measured margins: 0.22 / 0.31)


@pytest.mark.slow
def test_teacher_and_binary_student_beat_the_untrained_baseline_and_convert(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TFPOSE_RUNS", str(tmp_path / "runs"))  # the default --out lands here
    out = tmp_path / "runs" / "bihrnet"
    # The default run (small preset, 96x64) with fewer images and steps: 180 teacher steps and
    # 120 + 120 distillation steps instead of 900 + 600 + 600.
    status = run_in_process("train_bihrnet", [
        "--synthetic-images", "400", "32", "--teacher-epochs", "3", "--epochs", "2",
        "--steps-per-epoch", "60"])
    assert status == 0
    results = json.loads((out / "metrics.json").read_text())["results"]
    baseline = results["baseline"]["PCK@0.5"]
    assert baseline < 0.15
    assert results["teacher"]["PCK@0.5"] > baseline + MARGIN
    assert results["student"]["PCK@0.5"] > baseline + MARGIN
    assert (out / "model.keras").is_file()

    # The deployment step of the quick start, with no arguments: the student just saved, through
    # LCE, with its parity check against the Keras model.
    done = subprocess.run([sys.executable, str(REPO / "convert" / "to_lce.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=900, env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "model.json").read_text())
    assert (out / "model.tflite").stat().st_size == report["flatbuffer_bytes"]
    assert report["ops"]["LceBconv2d"] > 0 and report["parity"]["failures"] == []
