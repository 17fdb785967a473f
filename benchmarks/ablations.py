r"""Ablations on synthetic figures: does each method's defining choice help at a small budget?

    python benchmarks/ablations.py                     # all four, two seeds: 4-5 h on 2 cores
    python benchmarks/ablations.py --only fasterpose --seeds 3 --table /tmp/fasterpose.md
    python benchmarks/ablations.py --only bihrnet      # about 1.5 h on 2 cores (teacher 25 min)

Every row is real runs of the method's training script (``training/train_*.py``), one per seed,
on the bundled synthetic figures with the script's ``small`` preset: same data, seeds, input
size, steps and schedule for every variant of an ablation; only the ablated choice differs.

* BiHRNet: does distillation help? One real-valued HRNet teacher is trained first, once (first
  seed), for 3600 steps: three times the student's 600 + 600 (``--teacher-epochs 24 --epochs 1``;
  that run's own 150-step students are not part of the table). Every student run then gets it
  with ``--teacher PATH`` and differs only in the loss: KD + AWing with the default weights vs
  AWing alone (``--kl-weight 0``) vs KD with the former weighting (``--kl-weight 1 --kl-t2``:
  the KL got about 17% of the gradient); the binary student after both stages.
* Binary hourglass: HPM blocks vs the plain binary bottleneck at the same parameter count
  (``--block bottleneck --model-option channels=176``: 1.37 M vs 1.33 M parameters), XNOR-scaled
  (+-alpha per filter, the default) vs plain +-1 binary weights (``--weights plain``), and a
  ReLU after every binary conv (``--relu-after-conv``).
* FasterPose: RCE vs MSE (``--loss mse``), each from the initial bias that suits it (RCE the
  sigmoid prior logit(0.01) = -4.6, MSE 0), so the loss is the only difference.
* LitePose: the paper's depthwise kernel sweep, 7x7 (LitePose) vs 3x3, 5x5 and 9x9
  (``--model-option kernel_size=K``), and its fusion deconv head vs a plain deconv head
  (``--model-option head=plain``).

The table (``--table``, default ``benchmarks/ablations.md``) gives PCK@0.5 (torso) and
PCK_box@0.05 of the untrained model and of the trained one on the held-out synthetic validation
images (flip test) per seed, the optimiser steps and the wall time of the runs (host CPU,
labelled in the table); runs that distil also give the KL term's logged share of the gradient
reaching the student's heatmaps (first -> last epoch of each stage). Each run's folder (``--out``:
``<ablation>/<variant>/seed<k>``, the teacher in ``<ablation>/teacher/seed<k>``) keeps its log,
metrics.json and drawings; ``--reuse`` takes finished runs from there instead of training again.
The table file keeps the sections of ablations not run this time, and, after the others, those
whose ablation has since changed its title (what was run then).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Variant:
    label: str
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ablation:
    key: str
    title: str
    script: str
    result: str  # the metrics.json entry of the trained model
    variants: dict[str, Variant] = field(default_factory=dict)
    # --quick: a tiny run of the same script (tests: the table's plumbing, not the figures)
    quick: tuple[str, ...] = ()
    # A run made once, before the variants, with the first seed: its teacher.keras is every
    # variant's --teacher, so that all students distil from the same, stronger teacher.
    teacher: Variant | None = None
    quick_teacher: tuple[str, ...] = ()  # replaces the teacher's flags with --quick


TINY = ("--synthetic-images", "8", "4", "--epochs", "1", "--steps-per-epoch", "2",
        "--batch-size", "2", "--run-eagerly")
ABLATIONS = (
    Ablation("bihrnet", "BiHRNet (binary student after stages 1 and 2): distillation from a "
             "stronger teacher", "train_bihrnet", "student", {
                 "kd_awing": Variant("KD + AWing (BiHRNet, default weights)"),
                 "awing": Variant("AWing alone", ("--kl-weight", "0")),
                 # The weighting before this benchmark (KL x T², weight 1): is it the teacher
                 # or the weighting that helps?
                 "kd_t2": Variant("KD + AWing, former weighting (1 x T² KL)",
                                  ("--kl-weight", "1", "--kl-t2")),
             }, quick=(*TINY, "--input-size", "64x64", "--model-option", "width=8"),
             teacher=Variant("teacher: HRNet, trained once",
                             ("--teacher-epochs", "24", "--epochs", "1")),
             quick_teacher=("--teacher-epochs", "2")),
    # The paper's comparisons (tfpose.models.hourglass): its block against the bottleneck at
    # the same parameter count (176 channels: hourglass_presets.MATCHED_BOTTLENECK_CHANNELS
    # ["small"]), XNOR-scaled against plain +-1 weights, and its ReLU-after-conv variant.
    Ablation("hourglass", "Binary hourglass: block, binary weights, ReLU after conv",
             "train_hourglass_hpm", "model", {
                 "hpm_scaled": Variant("HPM block, 128 channels, XNOR-scaled weights (default)"),
                 "bottleneck_matched": Variant(
                     "plain binary bottleneck at the same parameter count (176 channels)",
                     ("--block", "bottleneck", "--model-option", "channels=176")),
                 "plain_weights": Variant("HPM, plain +-1 weights", ("--weights", "plain")),
                 "relu": Variant("HPM, ReLU after every binary conv", ("--relu-after-conv",)),
             }, quick=(*TINY, "--model-option", "channels=32")),
    # The head's initial bias follows the loss (tfpose.models.fasterpose.initial_head_bias):
    # MSE starts at 0, not at RCE's sigmoid prior -4.6, so the rows differ in the loss only.
    Ablation("fasterpose", "FasterPose: loss (each with its own initial bias)",
             "train_fasterpose", "model", {
                 "rce": Variant("RCE (sigmoid cross-entropy, soft targets; bias -4.6)"),
                 "mse": Variant("MSE (heatmap regression; bias 0)", ("--loss", "mse")),
             }, quick=(*TINY, "--input-size", "64x64", "--model-option", "head_width=16")),
    # The paper's kernel sweep and its fusion vs plain deconv head (tfpose.models.litepose).
    Ablation("litepose", "LitePose: depthwise kernel and deconv head", "train_litepose",
             "model", {
                 "k7": Variant("7x7, fusion deconv head (LitePose)"),
                 "k3": Variant("3x3", ("--model-option", "kernel_size=3")),
                 "k5": Variant("5x5", ("--model-option", "kernel_size=5")),
                 "k9": Variant("9x9", ("--model-option", "kernel_size=9")),
                 "plain": Variant("7x7, plain deconv head", ("--model-option", "head=plain")),
             }, quick=(*TINY, "--input-size", "64x64",
                       "--model-option", "stage_blocks=(1,1,1,1)")),
)


def planned_runs(chosen: list[Ablation], seeds: list[int]) -> list[tuple]:
    """``(seed, ablation, slug, variant)`` of every run: the teachers first, each once with the
    first seed, then every variant seed by seed."""
    jobs = [(seeds[0], a, "teacher", a.teacher) for a in chosen if a.teacher]
    return jobs + [(seed, a, slug, v) for seed in seeds for a in chosen
                   for slug, v in a.variants.items()]


def run_variant(ablation: Ablation, slug: str, variant: Variant, seed: int, args) -> dict:
    """Train one variant with one seed (or reuse its finished run); returns its results."""
    out = args.out / ablation.key / slug / f"seed{seed}"
    metrics_file = out / "metrics.json"
    flags = [*(ablation.quick if args.quick else ()), *variant.flags, "--seed", str(seed),
             "--out", str(out)]
    if ablation.teacher and variant is not ablation.teacher:
        flags += ["--teacher", str(teacher_file(ablation, args))]
    if not (args.reuse and metrics_file.is_file()):
        out.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, str(REPO / "training" / f"{ablation.script}.py"), *flags]
        start = time.perf_counter()
        with open(out / "run.log", "w") as log:
            status = subprocess.run(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}).returncode
        if status != 0:
            return {"error": f"seed {seed}: exit {status}, see {out / 'run.log'}"}
        (out / "wall_seconds.txt").write_text(f"{time.perf_counter() - start:.1f}\n")
    results = json.loads(metrics_file.read_text())["results"]
    config = json.loads((out / "config.json").read_text())
    phase = "teacher" if variant is ablation.teacher else _last_phase(out)
    return {"baseline": results["baseline"],
            "trained": results["teacher" if phase == "teacher" else ablation.result],
            "steps": _history(out, phase)[-1]["step"], "input_size": config["input_size"],
            "batch_size": config["batch_size"], "images": config["synthetic_images"],
            "kl_grad_share": _kl_grad_shares(out) if phase != "teacher" else "",
            "seconds": float((out / "wall_seconds.txt").read_text())}


def teacher_file(ablation: Ablation, args) -> Path:
    """The teacher every variant of ``ablation`` distils from (made with the first seed)."""
    return args.out / ablation.key / "teacher" / f"seed{args.seeds[0]}" / "teacher.keras"


def with_quick_teacher(ablation: Ablation) -> Ablation:
    """``ablation`` whose teacher run has the tiny ``quick_teacher`` flags."""
    return replace(ablation, teacher=replace(ablation.teacher, flags=ablation.quick_teacher))


def _history(out: Path, phase: str) -> list[dict]:
    return json.loads((out / phase / "history.json").read_text())


def _last_phase(out: Path) -> str:
    phases = [p.name for p in out.iterdir() if (p / "history.json").is_file()]
    return "stage2" if "stage2" in phases else "train"


def _kl_grad_shares(out: Path) -> str:
    """``first -> last`` epoch's logged KL share of the gradient per distillation stage."""
    shown = []
    for phase in ("stage1", "stage2"):
        path = out / phase / "history.json"
        shares = [e["kl_grad_share"] for e in (_history(out, phase) if path.is_file() else [])
                  if "kl_grad_share" in e]
        if shares:
            shown.append(f"{shares[0]:.2f} -> {shares[-1]:.2f}")
    return ", ".join(shown)


def _percent(runs: list[dict], key: str, metric: str) -> str:
    values = [100 * run[key][metric] for run in runs]
    shown = " / ".join(f"{v:.1f}" for v in values)
    return f"{shown} (mean {sum(values) / len(values):.1f})" if len(values) > 1 else shown


HEADER = (
    "# Ablations on synthetic figures\n\n"
    "Every run is the method's training script with its `small` preset on the bundled synthetic "
    "figures; only the ablated choice differs within an ablation. Figures are percent on the "
    "held-out validation figures with flip test, one per seed (then their mean): PCK@0.5 (error "
    "within half the torso) and PCK_box@0.05 (within 5% of the box's longer side, about "
    "PCKh@0.5); untrained models differ between seeds by their initialisation only. Training is "
    "not bit-reproducible (parallel input pipeline), so the same command and seed twice differ "
    "too: the BiHRNet main job gave a student PCK@0.5 of 73.4 and 66.7 in two runs on this "
    "machine. Read a difference smaller than that as no difference. Wall time, per seed, is the "
    "whole run (data, training, per-epoch validation, final evaluation) on a shared development "
    "machine, so it varies with what else ran; it is not a phone figure. These are small-budget "
    "runs on synthetic data: they show which way a choice pushes early training here, not what "
    "it is worth on COCO or MPII. Each section names the command, date and host it came from.\n"
)


def section(ablation: Ablation, variants: dict[str, list[dict]], teacher: dict | None,
            args) -> str:
    """The markdown section of one ablation: how it was run and one row per variant."""
    command = "python benchmarks/ablations.py " + " ".join(sys.argv[1:])
    seeds = " / ".join(map(str, args.seeds))
    done = [run for runs in variants.values() for run in runs if "error" not in run]
    budget = ""
    if done:
        first = done[0]
        budget = (f"; {first['images'][0]} training / {first['images'][1]} validation images, "
                  f"input {first['input_size'][0]}x{first['input_size'][1]}, batch "
                  f"{first['batch_size']}, {first['steps']} optimiser steps in the last phase")
    lines = [f"## {ablation.title}", "",
             f"Produced by `{command.strip()}` (seeds {seeds}) on {datetime.date.today()}; "
             f"host: {platform.machine()}, {os.cpu_count()} CPU cores, no GPU. "
             f"`training/{ablation.script}.py`{budget}."]
    header = ["variant", "flags", "untrained PCK@0.5", "trained PCK@0.5", "trained PCK_box@0.05"]
    if ablation.teacher:
        lines[-1] += (f" Every variant distils from the same teacher, passed as `--teacher "
                      f"{teacher_file(ablation, args)}` (first row: its own run and figures; "
                      "that run's two 150-step students are not shown but are part of its wall "
                      "time). "
                      "The KL share column is the share of the gradient reaching the student's "
                      "heatmaps that comes from the KL term, logged per epoch (`kl_grad_share`, "
                      "mean over the epoch's examples): first -> last epoch of stage 1, then of "
                      "stage 2, per seed.")
        header.append("KL share of the gradient")
    lines += ["", "| " + " | ".join([*header, "wall time"]) + " |",
              "|" + "---|" * (len(header) + 1)]
    rows = [(ablation.teacher, [teacher])] if ablation.teacher else []
    rows += [(ablation.variants[slug], runs) for slug, runs in variants.items()]
    for variant, runs in rows:
        lines.append(table_row(variant, runs, is_teacher=variant is ablation.teacher,
                          with_share=bool(ablation.teacher)))
    return "\n".join(lines)


def table_row(variant: Variant, runs: list[dict], *, is_teacher: bool,
              with_share: bool) -> str:
    """One variant's markdown row: each seed's figure, then their mean."""
    flags = " ".join(variant.flags) or "(defaults)"
    failed = [run["error"] for run in runs if "error" in run]
    if failed:
        return f"| {variant.label} | `{flags}` | failed: {'; '.join(failed)} |"
    label = f"{variant.label}, {runs[0]['steps']} steps" if is_teacher else variant.label
    cells = [label, f"`{flags}`",
             "-" if is_teacher else _percent(runs, "baseline", "PCK@0.5"),
             _percent(runs, "trained", "PCK@0.5"), _percent(runs, "trained", "PCK_box@0.05")]
    if with_share:
        cells.append("-" if is_teacher else "; ".join(
            f"seed {run['seed']}: {run['kl_grad_share'] or 'not logged'}" for run in runs))
    minutes = " / ".join(f"{run['seconds'] / 60:.1f}" for run in runs)
    return "| " + " | ".join([*cells, f"{minutes} min"]) + " |"


def markdown(sections: dict[str, str]) -> str:
    """The table file: the header, the sections in :data:`ABLATIONS` order, then those of
    ablations no longer in it (a retired title: the record of what was run then), as found."""
    titles = {a.title for a in ABLATIONS}
    ordered = [sections[a.title] for a in ABLATIONS if a.title in sections]
    ordered += [text for title, text in sections.items() if title not in titles]
    return HEADER + "".join(f"\n{text.rstrip()}\n" for text in ordered)


def existing_sections(path: Path) -> dict[str, str]:
    """The ``## title`` sections of an existing table file, by title."""
    if not path.is_file():
        return {}
    parts = path.read_text().split("\n## ")[1:]
    return {part.split("\n", 1)[0]: "## " + part for part in parts}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=[a.key for a in ABLATIONS],
                        help="run only these ablations")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1],
                        help="one run per variant and seed (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("runs") / "ablations",
                        help="folder of the runs (default: %(default)s)")
    parser.add_argument("--table", type=Path, default=REPO / "benchmarks" / "ablations.md",
                        help="markdown table to write (default: benchmarks/ablations.md)")
    parser.add_argument("--reuse", action="store_true",
                        help="take finished runs from --out instead of training again")
    parser.add_argument("--quick", action="store_true",
                        help="tiny runs (seconds each) to check the plumbing; figures mean "
                             "nothing")
    args = parser.parse_args(argv)
    chosen = [a for a in ABLATIONS if not args.only or a.key in args.only]
    if args.quick:
        chosen = [with_quick_teacher(a) if a.teacher else a for a in chosen]
    jobs = planned_runs(chosen, args.seeds)
    runs: dict[str, dict[str, list[dict]]] = {a.key: {slug: [] for slug in a.variants}
                                              for a in chosen}
    teachers: dict[str, dict] = {}
    for seed, ablation, slug, variant in tqdm(jobs, desc="ablation runs", unit="run"):
        tqdm.write(f"{ablation.key}: {variant.label}, seed {seed}")
        result = {"seed": seed, **run_variant(ablation, slug, variant, seed, args)}
        if variant is ablation.teacher:
            teachers[ablation.key] = result
        else:
            runs[ablation.key][slug].append(result)
    sections = existing_sections(args.table)
    for ablation in chosen:
        sections[ablation.title] = section(ablation, runs[ablation.key],
                                           teachers.get(ablation.key), args)
    text = markdown(sections)
    args.table.parent.mkdir(parents=True, exist_ok=True)
    args.table.write_text(text)
    print(text)
    print(f"wrote {args.table}")
    failed = any("error" in run for variants in runs.values() for variant in variants.values()
                 for run in variant) or any("error" in run for run in teachers.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
