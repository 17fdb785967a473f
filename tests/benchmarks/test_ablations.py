"""The ablation benchmark's plumbing, with tiny runs (its figures come from full runs only)."""

import os
import subprocess
import sys

from tests.training.scripts import REPO


def test_quick_run_trains_both_variants_and_writes_the_table(tmp_path):
    table = tmp_path / "ablations.md"
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "ablations.py"), "--quick", "--only",
         "fasterpose", "--seeds", "0", "--out", str(tmp_path / "runs"), "--table", str(table)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
        env={**os.environ, "TFPOSE_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    text = table.read_text()
    assert "## FasterPose: loss" in text and "8 training / 4 validation images" in text
    rows = [line for line in text.splitlines() if line.startswith("| RCE") or
            line.startswith("| MSE")]
    assert len(rows) == 2 and "`--loss mse`" in rows[1]
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert all(0.0 <= float(value) <= 100.0 for value in cells[2:5]), row
    for slug in ("rce", "mse"):
        assert (tmp_path / "runs" / "fasterpose" / slug / "seed0" / "metrics.json").is_file()
