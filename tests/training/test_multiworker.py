"""Two real worker processes on 127.0.0.1 under MultiWorkerMirroredStrategy (TF_CONFIG each):
one epoch of a small binary hourglass on synthetic figures read from their prepared TFRecords
(--data-source tfds), then a restart of both with --resume
for a second epoch. Worker 1 restarts with an empty scratch folder (as a restarted host), so it
must resume from the chief's checkpoint. After each run both workers hold the same weights."""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tfpose.data import prepared
from tfpose.models import create  # noqa: F401  (registers the custom layers for loading)
from tfpose.runtime.keras_files import load_keras_model

from .scripts import REPO, script_path

TIMEOUT = 600  # seconds for one two-worker run


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_workers(tmp_path, argv, tag, scratch):
    """Start both workers, wait for both (killing both on a timeout); their exit statuses."""
    cluster = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    try:
        for index in range(2):
            env = {**os.environ, "TFPOSE_CACHE": str(tmp_path / "cache"),
                   "TFPOSE_WORKER_SCRATCH": str(scratch),  # kept, to compare weights
                   "TF_CONFIG": json.dumps({"cluster": {"worker": cluster},
                                            "task": {"type": "worker", "index": index}})}
            log = open(tmp_path / f"{tag}_worker{index}.log", "w")  # noqa: SIM115
            processes.append(subprocess.Popen(
                [sys.executable, str(script_path("train_hourglass_hpm")), *argv], cwd=REPO,
                env=env, stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + TIMEOUT
        for process in processes:
            process.wait(timeout=max(1, deadline - time.monotonic()))
        return [p.returncode for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def weights(path):
    return load_keras_model(path).get_weights()


@pytest.mark.slow
def test_two_workers_train_alike_and_the_chief_resumes(tmp_path, monkeypatch):
    counts = (48, 8)
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    # Prepared once here, not by both workers at the same time.
    builder = prepared.prepare("synthetic", tmp_path / "tfds", synthetic_images=counts)
    argv = ["--strategy", "multiworker", "--synthetic-images", *map(str, counts),
            "--data-source", "tfds", "--data-dir", str(tmp_path / "tfds"),
            "--batch-size", "8", "--lr-base-batch", "4", "--lr", "1e-3",
            "--steps-per-epoch", "3", "--model-option", "channels=32",
            "--out", str(tmp_path / "run")]
    chief = tmp_path / "run" / "model.keras"
    for tag, epochs, extra in (("first", 1, []), ("resumed", 2, ["--resume"])):
        start = time.monotonic()
        scratch = tmp_path / f"{tag}_worker1"  # a new, empty one for the restart
        status = run_workers(tmp_path, [*argv, "--epochs", str(epochs), *extra], tag, scratch)
        logs = [(tmp_path / f"{tag}_worker{i}.log").read_text() for i in range(2)]
        assert status == [0, 0], "".join(log[-3000:] for log in logs)
        print(f"{tag} two-worker run: {time.monotonic() - start:.0f} s")
        for got, want in zip(weights(scratch / "model.keras"), weights(chief), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    chief_checkpoint = tmp_path / "run" / "train" / "checkpoints" / "ckpt-1"
    for log in logs:
        assert (f"reading {builder.info.metadata['counts']['train']['persons']} training "
                f"persons (48 images, 1 shards) from the prepared tfpose_synthetic train split"
                in log)
        assert ("MultiWorkerMirroredStrategy with 2 replica(s) on 2 worker(s); global batch 8 = "
                "2 x 4 per replica; input auto-sharded by DATA over 2 workers" in log)
        assert "learning rate 0.002 for global batch 8 (linear scaling of 0.001 at batch 4)" in log
        assert f"train: resumed after epoch 1 from {chief_checkpoint} (step 3)" in log
        assert "Epoch 2/2" in log and "Epoch 1/2" not in log
    history = json.loads((tmp_path / "run" / "train" / "history.json").read_text())
    assert len(history) == 2
