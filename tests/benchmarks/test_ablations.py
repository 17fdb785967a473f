"""The ablation benchmark's plumbing, with tiny runs (its figures come from full runs only)."""

import json
import os
import re
import subprocess
import sys

import pytest

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


@pytest.mark.slow  # seven tiny training runs: about 5 min on 2 cores
def test_quick_bihrnet_distils_every_student_from_one_teacher(tmp_path):
    table = tmp_path / "ablations.md"
    kept = "## FasterPose: loss\n\nan earlier run's section, kept as it was\n"
    table.write_text("# old header\n\n" + kept)
    runs = tmp_path / "runs"
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "ablations.py"), "--quick", "--only",
         "bihrnet", "--seeds", "3", "4", "--out", str(runs), "--table", str(table)],
        cwd=REPO, capture_output=True, text=True, timeout=1800,
        env={**os.environ, "TFPOSE_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    teacher = runs / "bihrnet" / "teacher" / "seed3" / "teacher.keras"
    assert not (runs / "bihrnet" / "teacher" / "seed4").exists()  # trained once
    for slug in ("kd_awing", "awing", "kd_t2"):
        for seed in (3, 4):
            metrics = json.loads((runs / "bihrnet" / slug / f"seed{seed}" /
                                  "metrics.json").read_text())
            assert metrics["teacher_path"] == str(teacher)
            assert not (runs / "bihrnet" / slug / f"seed{seed}" / "teacher").exists()

    text = table.read_text()
    assert text.startswith("# Ablations on synthetic figures") and kept.strip() in text
    assert text.index("## BiHRNet") < text.index("## FasterPose")  # the order of ABLATIONS
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| ") and "---" not in line}
    teacher_row = next(cells for label, cells in rows.items() if label.startswith("teacher"))
    assert teacher_row[0].endswith(", 4 steps") and 0 <= float(teacher_row[3]) <= 100
    distilled = rows["KD + AWing (BiHRNet, default weights)"][5]
    assert re.fullmatch(r"seed 3: 0\.\d\d -> 0\.\d\d, 0\.\d\d -> 0\.\d\d; seed 4: .+", distilled)
    no_kl = "0.00 -> 0.00, 0.00 -> 0.00"  # kl_weight 0: no gradient from the KL term
    assert rows["AWing alone"][5] == f"seed 3: {no_kl}; seed 4: {no_kl}"
