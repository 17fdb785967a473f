"""Running the training scripts from tests: in this process (fast: TensorFlow is already
imported) or in a fresh one (exit status, stderr, logical devices)."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

from tfpose.engine.run import run_main

REPO = Path(__file__).resolve().parents[2]


def script_path(name: str) -> Path:
    return REPO / "training" / f"{name}.py"


def run_in_process(name: str, argv: list[str]) -> int:
    """Exit status of ``training/<name>.py argv``, run by this interpreter."""
    module = runpy.run_path(str(script_path(name)), run_name=f"training_{name}")
    return run_main(module["main"], [str(a) for a in argv])


def run_subprocess(name: str, argv: list[str], *, env: dict | None = None, prelude: str = "",
                   timeout: float = 600) -> subprocess.CompletedProcess:
    """``python training/<name>.py argv`` in a new process; ``prelude`` runs first (e.g. to
    configure logical devices before TensorFlow initialises)."""
    command = [str(script_path(name)), *map(str, argv)]
    code = (f"{prelude}\nimport runpy, sys\nsys.argv = {command!r}\n"
            "runpy.run_path(sys.argv[0], run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})
