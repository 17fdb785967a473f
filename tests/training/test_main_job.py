"""The main job, ``python training/train_bihrnet.py``, at a smaller size (graph mode, as run)."""

import json

import pytest

from tests.training.scripts import run_in_process

MARGIN = 0.10  # PCK@0.5 points above the untrained baseline (measured margins: 0.22 / 0.31)


@pytest.mark.slow
def test_teacher_and_binary_student_beat_the_untrained_baseline(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    # The default run (small preset, 96x64) with fewer images and steps: 180 teacher steps and
    # 120 + 120 distillation steps instead of 900 + 600 + 600.
    status = run_in_process("train_bihrnet", [
        "--synthetic-images", "400", "32", "--teacher-epochs", "3", "--epochs", "2",
        "--steps-per-epoch", "60", "--out", out])
    assert status == 0
    results = json.loads((out / "metrics.json").read_text())["results"]
    baseline = results["baseline"]["PCK@0.5"]
    assert baseline < 0.15
    assert results["teacher"]["PCK@0.5"] > baseline + MARGIN
    assert results["student"]["PCK@0.5"] > baseline + MARGIN
    assert (out / "model.keras").is_file()
