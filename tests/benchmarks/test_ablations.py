"""The ablation benchmark's plumbing, with tiny runs (its figures come from full runs only)."""

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

from tests.training.scripts import REPO
from tfpose.models.hourglass_presets import MATCHED_BOTTLENECK_CHANNELS as MATCHED


def ablations_module():
    spec = importlib.util.spec_from_file_location("benchmarks_ablations", REPO / "benchmarks" /
                                                  "ablations.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_the_rows_of_each_ablation():
    """Each ablation's variants and the flags that make them (only the ablated choice)."""
    ablations = {a.key: a for a in ablations_module().ABLATIONS}
    litepose = {slug: v.flags for slug, v in ablations["litepose"].variants.items()}
    assert litepose == {
        "k7": (), "k3": ("--model-option", "kernel_size=3"),
        "k5": ("--model-option", "kernel_size=5"), "k9": ("--model-option", "kernel_size=9"),
        "plain": ("--model-option", "head=plain")}
    hourglass = {slug: v.flags for slug, v in ablations["hourglass"].variants.items()}
    assert hourglass == {
        "hpm_scaled": (), "bottleneck_matched": ("--block", "bottleneck", "--model-option",
                                                 f"channels={MATCHED['small']}"),
        "plain_weights": ("--weights", "plain"), "relu": ("--relu-after-conv",)}
    fasterpose = ablations["fasterpose"].variants
    assert fasterpose["mse"].flags == ("--loss", "mse") and fasterpose["rce"].flags == ()
    assert "bias 0" in fasterpose["mse"].label and "-4.6" in fasterpose["rce"].label


def test_quick_run_trains_both_variants_and_writes_the_table(tmp_path):
    table = tmp_path / "ablations.md"
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "ablations.py"), "--quick", "--only",
         "fasterpose", "--seeds", "0", "--out", str(tmp_path / "runs"), "--table", str(table)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
        env={**os.environ, "TFPOSE_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    text = table.read_text()
    assert "## FasterPose: loss (each with its own initial bias)" in text
    assert "8 training / 4 validation images" in text
    rows = [line for line in text.splitlines() if line.startswith("| RCE") or
            line.startswith("| MSE")]
    assert len(rows) == 2 and "`--loss mse`" in rows[1]
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert all(0.0 <= float(value) <= 100.0 for value in cells[2:5]), row
    for slug in ("rce", "mse"):
        assert (tmp_path / "runs" / "fasterpose" / slug / "seed0" / "metrics.json").is_file()


def test_each_teacher_is_trained_once_before_its_students():
    module = ablations_module()
    bihrnet, fasterpose = (next(a for a in module.ABLATIONS if a.key == key)
                           for key in ("bihrnet", "fasterpose"))
    jobs = [(seed, ablation.key, slug) for seed, ablation, slug, _ in
            module.planned_runs([bihrnet, fasterpose], [3, 4])]
    students = list(bihrnet.variants)
    assert jobs == [(3, "bihrnet", "teacher"),
                    *[(3, "bihrnet", slug) for slug in students], (3, "fasterpose", "rce"),
                    (3, "fasterpose", "mse"), *[(4, "bihrnet", slug) for slug in students],
                    (4, "fasterpose", "rce"), (4, "fasterpose", "mse")]


def test_a_row_shows_each_seed_then_the_mean():
    module = ablations_module()
    bihrnet = next(a for a in module.ABLATIONS if a.key == "bihrnet")
    runs = [{"seed": seed, "baseline": {"PCK@0.5": 0.1}, "steps": 600, "seconds": 90.0 * k,
             "trained": {"PCK@0.5": pck, "PCK_box@0.05": box}, "kl_grad_share": share}
            for k, (seed, pck, box, share) in enumerate(
                [(3, 0.5, 0.2, "0.41 -> 0.36"), (4, 0.7, 0.3, "")], start=1)]
    cells = [cell.strip() for cell in module.table_row(
        bihrnet.variants["kd_awing"], runs, is_teacher=False, with_share=True).strip("|")
        .split("|")]
    assert cells[2:] == ["10.0 / 10.0 (mean 10.0)", "50.0 / 70.0 (mean 60.0)",
                         "20.0 / 30.0 (mean 25.0)",
                         "seed 3: 0.41 -> 0.36; seed 4: not logged", "1.5 / 3.0 min"]
    failed = module.table_row(bihrnet.variants["awing"], [runs[0], {"error": "seed 4: exit 1"}],
                              is_teacher=False, with_share=True)
    assert failed.endswith("| failed: seed 4: exit 1 |")


@pytest.mark.slow  # four tiny training runs: about 3 min on 2 cores
def test_quick_bihrnet_distils_every_student_from_one_teacher(tmp_path):
    table = tmp_path / "ablations.md"
    kept = "## FasterPose: loss (each with its own initial bias)\n\nan earlier run's section\n"
    table.write_text("# old header\n\n" + kept)
    runs = tmp_path / "runs"
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "ablations.py"), "--quick", "--only",
         "bihrnet", "--seeds", "3", "--out", str(runs), "--table", str(table)],
        cwd=REPO, capture_output=True, text=True, timeout=1800,
        env={**os.environ, "TFPOSE_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    teacher = runs / "bihrnet" / "teacher" / "seed3" / "teacher.keras"
    for slug in ("kd_awing", "awing", "kd_t2"):
        metrics = json.loads((runs / "bihrnet" / slug / "seed3" / "metrics.json").read_text())
        assert metrics["teacher_path"] == str(teacher)
        assert not (runs / "bihrnet" / slug / "seed3" / "teacher").exists()

    text = table.read_text()
    assert text.startswith("# Ablations on synthetic figures") and kept.strip() in text
    assert text.index("## BiHRNet") < text.index("## FasterPose")  # the order of ABLATIONS
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| ") and "---" not in line}
    teacher_row = next(cells for label, cells in rows.items() if label.startswith("teacher"))
    assert teacher_row[0].endswith(", 4 steps") and 0 <= float(teacher_row[3]) <= 100
    distilled = rows["KD + AWing (BiHRNet, default weights)"][5]
    assert re.fullmatch(r"seed 3: 0\.\d\d -> 0\.\d\d, 0\.\d\d -> 0\.\d\d", distilled)
    no_kl = "0.00 -> 0.00, 0.00 -> 0.00"  # kl_weight 0: no gradient from the KL term
    assert rows["AWing alone"][5] == f"seed 3: {no_kl}"


def test_the_table_keeps_sections_of_retired_titles_after_the_current_ones():
    module = ablations_module()
    current = {a.title: f"## {a.title}\n\nnew\n" for a in module.ABLATIONS[::-1]}
    sections = {"FasterPose: loss": "## FasterPose: loss\n\nformer\n", **current}
    text = module.markdown(sections)
    positions = [text.index(f"## {a.title}\n") for a in module.ABLATIONS]
    assert positions == sorted(positions)  # the order of ABLATIONS
    assert text.index("## FasterPose: loss\n") > max(positions)
