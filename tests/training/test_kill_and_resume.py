"""A training script killed with SIGKILL mid-run continues with --resume where its last
checkpoint left it, and ends where an uninterrupted run ends."""

import json
import os
import signal
import subprocess
import sys
import time

from tests.training.scripts import REPO, run_in_process, script_path

STEPS = 6
ARGV = ["--synthetic-images", "8", "4", "--epochs", "3", "--steps-per-epoch", str(STEPS),
        "--batch-size", "2", "--model-option", "channels=32", "--run-eagerly"]


def wait_for(path, process, timeout=600):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, f"no {path} after {timeout} s"
        time.sleep(0.05)


def test_sigkill_then_resume_finishes_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    checkpoints = out / "train" / "checkpoints"
    process = subprocess.Popen(
        [sys.executable, str(script_path("train_hourglass_hpm")), *ARGV, "--out", str(out)],
        cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(checkpoints / "ckpt-1.index", process)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert not (out / "metrics.json").exists()  # it really was cut off
    done = sorted(int(p.stem.split("-")[1]) for p in checkpoints.glob("ckpt-*.index"))
    assert done and done[-1] < 3

    assert run_in_process("train_hourglass_hpm", [*ARGV, "--out", out, "--resume"]) == 0
    history = json.loads((out / "train" / "history.json").read_text())
    # What an uninterrupted three-epoch run logs: each epoch once, optimiser steps 6, 12, 18.
    assert [(e["epoch"], e["step"]) for e in history] == [(1, STEPS), (2, 2 * STEPS),
                                                         (3, 3 * STEPS)]
    assert (checkpoints / "ckpt-3.index").is_file()
    assert json.loads((out / "metrics.json").read_text())["results"]["model"]["num_persons"]
