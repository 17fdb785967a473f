"""Top-down input pipeline throughput (images/s) from raw files and from prepared TFRecords.

    python benchmarks/input_pipeline.py                       # synthetic figures, 256x256
    python benchmarks/input_pipeline.py --data coco --data-root /data/coco   # COCO train2017

Training mode with every augmentation, batch 32, 256x192 crops. Each figure is measured in its
own process pinned to 1 or 2 CPU cores (``sched_setaffinity``) with a tf.data thread pool of the
same size, after 3 warm-up batches. ``raw`` reads the image files named by the annotations;
``tfds`` reads the dataset prepared by ``tfpose prepare`` (made first, in ``--data-dir``; not
timed). The table goes into ``benchmarks/README.md`` (its input-pipeline section; the rest of the
file is left as it is) and is printed. Figures are of this host's CPU, labelled as such.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("raw", "tfds")
SECTION = "input-pipeline"


def measure(source, threads: int, batches: int, batch_size: int) -> float:
    """Images per second of the training pipeline over ``source`` (records or a split)."""
    import tensorflow as tf

    from tfpose.codecs.heatmap import HeatmapCodec
    from tfpose.data.topdown import topdown_dataset

    codec = HeatmapCodec(input_size=(256, 192), heatmap_size=(64, 48))
    ds = topdown_dataset(source, codec, batch_size=batch_size, train=True, repeat=True)
    options = tf.data.Options()
    options.threading.private_threadpool_size = threads
    iterator = iter(ds.with_options(options))
    for _ in range(3):  # warm-up: graph tracing, file cache, shuffle buffers
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def load_source(args, kind: str):
    """The raw training records or the prepared train split of ``--data``."""
    from tfpose.data import prepared
    from tfpose.data.layouts import locate_dataset, read_persons

    synthetic = {"synthetic_images": (args.synthetic_images, 8)}
    if kind == "tfds":
        return prepared.open_split(args.data, "train", args.data_dir, **synthetic)
    files = locate_dataset(args.data, args.data_root, **synthetic)
    return read_persons(files, files.train_ann, files.train_images)


def run_pinned(args, kind: str, cores: int) -> float:
    """images/s of one source measured in a child process pinned to ``cores`` cores."""
    command = [sys.executable, __file__, "--worker", kind, "--data", args.data,
               "--data-dir", str(args.data_dir), "--synthetic-images", str(args.synthetic_images),
               "--batches", str(args.batches), "--batch-size", str(args.batch_size),
               "--cores", str(cores)]
    if args.data_root:
        command += ["--data-root", str(args.data_root)]
    allowed = sorted(os.sched_getaffinity(0))[:cores]
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          preexec_fn=lambda: os.sched_setaffinity(0, allowed))
    if done.returncode:
        raise RuntimeError(f"{kind} on {cores} core(s) failed:\n{done.stderr[-3000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def markdown(rows, args, command: str) -> str:
    from tfpose.benchmark import host_cpu

    cores = sorted({row["cores"] for row in rows})
    header = "| source | persons | " + " | ".join(f"{c} core{'s' * (c > 1)}" for c in cores)
    lines = [f"## Input pipeline on the development host ({args.description})", "",
             f"Produced by `{command}` on {datetime.date.today()}. Host: {host_cpu()}, "
             f"{os.cpu_count()} cores. Training-mode "
             f"top-down pipeline (every augmentation, batch {args.batch_size}, 256x192 crops and "
             f"heatmaps), {args.batches} batches after 3 warm-up ones, each figure in a process "
             "pinned to that many cores with a tf.data thread pool of the same size. `raw` "
             "reads the image files, `tfds` the prepared TFRecords (`tfpose prepare`). Images "
             "per second; these are host figures, not a GPU host's.", "",
             header + " |", "|---|---|" + "---|" * len(cores)]
    for kind in SOURCES:
        cells = [f"{row['images_per_s']:.0f} images/s" for c in cores for row in rows
                 if row["source"] == kind and row["cores"] == c]
        persons = next(row["persons"] for row in rows if row["source"] == kind)
        lines.append(f"| {kind} | {persons} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def replace_section(text: str, name: str, body: str) -> str:
    """``text`` with the section between ``<!-- name -->`` markers set to ``body`` (appended
    when there is none)."""
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{body}{end}\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        return before + block + rest.split(end, 1)[1].lstrip("\n")
    return text.rstrip("\n") + "\n\n" + block


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synthetic", choices=("synthetic", "coco", "mpii",
                                                                 "crowdpose"))
    parser.add_argument("--data-root", type=Path, help="the official files (not for synthetic)")
    parser.add_argument("--data-dir", type=Path, default=REPO / "runs" / "benchmarks" / "tfds",
                        help="where the prepared dataset is made (default: %(default)s)")
    parser.add_argument("--synthetic-images", type=int, default=256)
    parser.add_argument("--cores", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--table", type=Path, default=REPO / "benchmarks" / "README.md")
    parser.add_argument("--label", help="what the data is, for the table's heading")
    parser.add_argument("--worker", choices=SOURCES, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    sys.path.insert(0, str(REPO))
    import tfpose  # noqa: F401  (before TensorFlow)
    from tfpose.data import prepared
    from tfpose.errors import TfposeError

    if args.worker:  # a pinned child: print one figure
        source = load_source(args, args.worker)
        print(measure(source, args.cores[0], args.batches, args.batch_size))
        return 0
    try:
        prepared.prepare(args.data, args.data_dir, manual_dir=args.data_root,
                         synthetic_images=(args.synthetic_images, 8))
        persons = {kind: len(load_source(args, kind)) for kind in SOURCES}
        rows = [{"source": kind, "cores": cores, "persons": persons[kind],
                 "images_per_s": run_pinned(args, kind, cores)}
                for cores in args.cores for kind in SOURCES]
    except (TfposeError, RuntimeError) as error:  # the table is left as it was
        print(f"error: {error}", file=sys.stderr)
        return 1
    args.description = args.label or (
        f"synthetic figures, {args.synthetic_images} 256x256 JPEGs" if args.data == "synthetic"
        else f"{args.data} train split")
    command = "python benchmarks/input_pipeline.py" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    table = markdown(rows, args, command)
    old = args.table.read_text() if args.table.is_file() else "# Benchmarks\n"
    args.table.write_text(replace_section(old, f"{SECTION}-{args.data}", table))
    print(table)
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
