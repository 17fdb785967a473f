"""The Android demo's JUnit tests on the host JVM (pure-Java logic against the golden files)."""

import os
import subprocess
from pathlib import Path

import pytest

DEMO = Path(__file__).parents[2] / "android_demo"


@pytest.mark.slow
def test_jvm_tests_pass(tmp_path):
    done = subprocess.run(["bash", str(DEMO / "run_jvm_tests.sh")], capture_output=True,
                          text=True, timeout=900, env={**os.environ, "BUILD_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "OK (" in done.stdout
