r"""Ablations on synthetic figures: does each method's defining choice help at a small budget?

    python benchmarks/ablations.py                     # all four, two seeds: about 2 h on 2 cores
    python benchmarks/ablations.py --only fasterpose --seeds 3 --table /tmp/fasterpose.md

Every row is real runs of the method's training script (``training/train_*.py``), one per seed,
on the bundled synthetic figures with the script's ``small`` preset: same data, seeds, input
size, steps and schedule for every variant of an ablation; only the ablated choice differs.

* BiHRNet: KD + AWing (the paper's loss) vs AWing alone (``--kl-weight 0``) vs MSE alone
  (``--kl-weight 0 --loss mse``), and KD weighted 10x (``--kl-weight 10``: at weight 1 the KL
  term is about 1% of the loss); the binary student after both stages. Later variants reuse the
  first variant's teacher (the ones without KD give it no weight).
* Binary hourglass: HPM blocks vs the plain binary bottleneck (``--block bottleneck``).
* FasterPose: RCE vs MSE (``--loss mse``).
* LitePose: 7x7 vs 3x3 depthwise kernels (``--model-option kernel_size=3``).

The table (``--table``, default ``benchmarks/ablations.md``) gives PCK@0.5 (torso) and
PCK_box@0.05 of the untrained model and of the trained one on the held-out synthetic validation
images (flip test) per seed, the optimiser steps and the wall time of the runs (host CPU,
labelled in the table). Each run's folder (``--out``: ``<ablation>/<variant>/seed<k>``) keeps its
log, metrics.json and drawings; ``--reuse`` takes finished runs from there instead of training
again.
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
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Variant:
    label: str
    flags: tuple[str, ...] = ()
    teacher_of: str | None = None  # reuse this variant's teacher (its slug)


@dataclass(frozen=True)
class Ablation:
    key: str
    title: str
    script: str
    result: str  # the metrics.json entry of the trained model
    variants: dict[str, Variant] = field(default_factory=dict)
    # --quick: a tiny run of the same script (tests: the table's plumbing, not the figures)
    quick: tuple[str, ...] = ()


TINY = ("--synthetic-images", "8", "4", "--epochs", "1", "--steps-per-epoch", "2",
        "--batch-size", "2", "--run-eagerly")
ABLATIONS = (
    Ablation("bihrnet", "BiHRNet (binary student after stages 1 and 2): loss", "train_bihrnet",
             "student", {
                 "kd_awing": Variant("KD + AWing (BiHRNet)"),
                 "kd10_awing": Variant("KD x 10 + AWing", ("--kl-weight", "10"),
                                       teacher_of="kd_awing"),
                 "awing": Variant("AWing alone", ("--kl-weight", "0"), teacher_of="kd_awing"),
                 "mse": Variant("MSE alone", ("--kl-weight", "0", "--loss", "mse"),
                                teacher_of="kd_awing"),
             }, quick=(*TINY, "--teacher-epochs", "1", "--input-size", "64x64",
                       "--model-option", "width=8")),
    Ablation("hourglass", "Binary hourglass: residual block", "train_hourglass_hpm", "model", {
        "hpm": Variant("HPM (hierarchical, parallel, multi-scale)"),
        "bottleneck": Variant("plain binary bottleneck", ("--block", "bottleneck")),
    }, quick=(*TINY, "--model-option", "channels=32")),
    Ablation("fasterpose", "FasterPose: loss", "train_fasterpose", "model", {
        "rce": Variant("RCE (sigmoid cross-entropy, soft targets)"),
        "mse": Variant("MSE (heatmap regression)", ("--loss", "mse")),
    }, quick=(*TINY, "--input-size", "64x64", "--model-option", "head_width=16")),
    Ablation("litepose", "LitePose: depthwise kernel", "train_litepose", "model", {
        "k7": Variant("7x7 (LitePose)"),
        "k3": Variant("3x3", ("--model-option", "kernel_size=3")),
    }, quick=(*TINY, "--input-size", "64x64", "--model-option", "stage_blocks=(1,1,1,1)")),
)


def run_variant(ablation: Ablation, slug: str, variant: Variant, seed: int, args) -> dict:
    """Train one variant with one seed (or reuse its finished run); returns its results."""
    out = args.out / ablation.key / slug / f"seed{seed}"
    metrics_file = out / "metrics.json"
    flags = [*(ablation.quick if args.quick else ()), *variant.flags, "--seed", str(seed),
             "--out", str(out)]
    if variant.teacher_of:
        teacher = args.out / ablation.key / variant.teacher_of / f"seed{seed}" / "teacher.keras"
        flags += ["--teacher", str(teacher)]
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
    history = json.loads((out / _last_phase(out) / "history.json").read_text())
    return {"baseline": results["baseline"], "trained": results[ablation.result],
            "steps": history[-1]["step"], "input_size": config["input_size"],
            "batch_size": config["batch_size"], "images": config["synthetic_images"],
            "seconds": float((out / "wall_seconds.txt").read_text())}


def _last_phase(out: Path) -> str:
    phases = [p.name for p in out.iterdir() if (p / "history.json").is_file()]
    return "stage2" if "stage2" in phases else "train"


def _percent(runs: list[dict], key: str, metric: str) -> str:
    values = [100 * run[key][metric] for run in runs]
    shown = " / ".join(f"{v:.1f}" for v in values)
    return f"{shown} (mean {sum(values) / len(values):.1f})" if len(values) > 1 else shown


def markdown(tables: list[tuple[Ablation, dict[str, list[dict]]]], args) -> str:
    command = "python benchmarks/ablations.py " + " ".join(sys.argv[1:])
    seeds = " / ".join(map(str, args.seeds))
    lines = [
        "# Ablations on synthetic figures",
        "",
        f"Produced by `{command.strip()}` (seeds {seeds}) on {datetime.date.today()}; host: "
        f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU. Every run is the method's "
        "training script with its `small` preset on the bundled synthetic figures; only the "
        "ablated choice differs within an ablation. Figures are percent on the held-out "
        "validation figures with flip test, one per seed (then their mean): PCK@0.5 (error "
        "within half the torso) and PCK_box@0.05 (within 5% of the box's longer side, about "
        "PCKh@0.5); untrained models differ between seeds by their initialisation only. "
        "Training is not bit-reproducible (parallel input pipeline), so the same command and "
        "seed twice differ too: the BiHRNet main job gave a student PCK@0.5 of 73.4 and 66.7 "
        "in two runs on this machine. Read a difference smaller than that as no difference. "
        "Wall time, per seed, is the whole run (data, training, per-epoch validation, final "
        "evaluation) on a shared development machine, so it varies with what else ran; it is "
        "not a phone figure. These are small-budget runs on synthetic data: they show which "
        "way a choice pushes early training here, not what it is worth on COCO or MPII.",
    ]
    for ablation, variants in tables:
        done = [run for runs in variants.values() for run in runs if "error" not in run]
        budget = ""
        if done:
            first = done[0]
            budget = (f"{first['images'][0]} training / {first['images'][1]} validation "
                      f"images, input {first['input_size'][0]}x{first['input_size'][1]}, batch "
                      f"{first['batch_size']}, {first['steps']} optimiser steps in the last "
                      "phase")
        lines += ["", f"## {ablation.title}", "", f"`training/{ablation.script}.py`; {budget}.",
                  "", "| variant | flags | untrained PCK@0.5 | trained PCK@0.5 | "
                  "trained PCK_box@0.05 | wall time |", "|---|---|---|---|---|---|"]
        for slug, runs in variants.items():
            variant = ablation.variants[slug]
            flags = " ".join(variant.flags) or "(defaults)"
            failed = [run["error"] for run in runs if "error" in run]
            if failed:
                lines.append(f"| {variant.label} | `{flags}` | failed: {'; '.join(failed)} "
                             "| | | |")
                continue
            minutes = " / ".join(f"{run['seconds'] / 60:.1f}" for run in runs)
            lines.append(f"| {variant.label} | `{flags}` | "
                         f"{_percent(runs, 'baseline', 'PCK@0.5')} | "
                         f"{_percent(runs, 'trained', 'PCK@0.5')} | "
                         f"{_percent(runs, 'trained', 'PCK_box@0.05')} | {minutes} min |")
    return "\n".join(lines) + "\n"


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
    # Seed by seed, so that a variant reusing a teacher finds that seed's teacher trained.
    jobs = [(seed, a, slug, v) for seed in args.seeds for a in chosen
            for slug, v in a.variants.items()]
    runs: dict[str, dict[str, list[dict]]] = {a.key: {slug: [] for slug in a.variants}
                                              for a in chosen}
    for seed, ablation, slug, variant in tqdm(jobs, desc="ablation runs", unit="run"):
        tqdm.write(f"{ablation.key}: {variant.label}, seed {seed}")
        runs[ablation.key][slug].append(run_variant(ablation, slug, variant, seed, args))
    text = markdown([(a, runs[a.key]) for a in chosen], args)
    args.table.parent.mkdir(parents=True, exist_ok=True)
    args.table.write_text(text)
    print(text)
    print(f"wrote {args.table}")
    failed = any("error" in run for variants in runs.values() for variant in variants.values()
                 for run in variant)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
