r"""Our converted models side by side on this host: size, cost and latency.

    python benchmarks/converted_models.py                # converts, benchmarks, rewrites README.md
    python benchmarks/converted_models.py --runs 5 --threads 1 --out /tmp/bench

Converts each model of :data:`MODELS` at its documented input size with ``tfpose convert``'s
job (zoo weights, spread by ``tfpose.export.job.stand_in_weights`` so the files have the ops
of trained ones; int8 calibrates on the bundled synthetic figures), then times every file with
``tfpose benchmark`` (all files in one process, interleaved, after warm-up) for each thread
count, profiles every file op by op at the first thread count (``tfpose benchmark --profile``)
and writes the tables to ``--table`` (default ``benchmarks/README.md``) with the command, date
and host. Float ops run under XNNPACK, binary convolutions with LCE's indirect BGEMM: host
figures of an x86 CPU, labelled as such, not phone latency (``benchmarks/device/`` measures
phones).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Converted:
    label: str
    zoo_name: str
    quantization: str
    input_size: tuple[int, int] | None = None  # None: the model's documented size
    full_integer: bool = False  # int8: the large depthwise convs quantised too
    folded: bool = True  # binary: RPReLU shifts folded before conversion (as tfpose convert)

    @property
    def file_name(self) -> str:
        variant = ("_full_integer" if self.full_integer else "") + (
            "" if self.folded else "_unfolded")
        return f"{self.zoo_name}_{self.quantization}{variant}.tflite"


MODELS = [
    Converted("BiHRNet-W18 (binary, LCE)", "bihrnet_w18", "fp32"),
    Converted("BiHRNet-W32 (binary, LCE)", "bihrnet_w32", "fp32"),
    Converted("BiHRNet-W32, RPReLU shifts not folded", "bihrnet_w32", "fp32", folded=False),
    Converted("Binary hourglass, HPM (LCE)", "hourglass_hpm", "fp32"),
    Converted("Binary hourglass, bottleneck (LCE)", "hourglass_bottleneck_binary", "fp32"),
    Converted("HRNet-W32 fp32 (BiHRNet's teacher)", "hrnet_w32", "fp32"),
    Converted("HRNet-W32 int8", "hrnet_w32", "int8"),
    Converted("SimpleBaseline-R50 fp32", "simplebaseline_r50", "fp32"),
    Converted("SimpleBaseline-R50 int8", "simplebaseline_r50", "int8"),
    Converted("FasterPose fp32", "fasterpose", "fp32"),
    Converted("FasterPose int8", "fasterpose", "int8"),
    Converted("LitePose-XS fp32", "litepose_xs", "fp32"),
    Converted("LitePose-XS int8", "litepose_xs", "int8"),
    Converted("LitePose-XS int8, --full-integer (7x7 depthwise int8 too)", "litepose_xs",
              "int8", full_integer=True),
]


def convert_all(out: Path, models=MODELS) -> list[Path]:
    from tfpose.export.job import convert_job

    paths = []
    for model in models:
        path = out / model.file_name
        if not path.is_file():
            print(f"converting {model.zoo_name} ({model.quantization})", flush=True)
            if model.folded:  # stand-in weights: parity would say nothing here
                convert_job(model.zoo_name, out=path, quantization=model.quantization,
                            input_size=model.input_size, check_parity=False,
                            full_integer=model.full_integer)
            else:
                _convert_unfolded(model, path)
        paths.append(path)
    return paths


def _convert_unfolded(model: Converted, path: Path) -> None:
    """A binary zoo model through LCE as ``tfpose convert`` converts it, less the folding of
    its RPReLU shifts (``tfpose.export.folding``): the "before" of that rewrite."""
    from tfpose.export.convert import conversion_report
    from tfpose.export.job import load_source
    from tfpose.export.lce import convert_to_lce
    from tfpose.models.summary import model_summary

    source = load_source(model.zoo_name, model.input_size)
    flatbuffer = convert_to_lce(source.model)
    summary = model_summary(source.model)
    report = {**conversion_report(flatbuffer), "macs": summary["macs"],
              "binary_mac_share": round(summary["binary_share"], 4)}
    path.write_bytes(flatbuffer)
    path.with_suffix(".json").write_text(json.dumps(report, indent=1))


def markdown(models, paths, rows_by_threads: dict[int, list[dict]], command: str) -> str:
    from tfpose.benchmark import host_cpu

    threads = sorted(rows_by_threads)
    first = rows_by_threads[threads[0]]
    head = ["model", "input", "file MB", "GMACs", "binary MAC share"] + [
        f"host median ms, {n} thread{'s' if n > 1 else ''}" for n in threads] + [
        f"float-op share of host time, {threads[0]} thread{'s' if threads[0] > 1 else ''}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, (model, path) in enumerate(zip(models, paths, strict=True)):
        report = _report(path)
        size = "x".join(str(s) for s in report["inputs"][0]["shape"][1:3])
        cells = [model.label, size, f"{first[i]['size_bytes'] / 1e6:.2f}",
                 f"{report['macs'] / 1e9:.2f}", f"{report['binary_mac_share']:.2f}"]
        cells += [f"{rows_by_threads[n][i]['median_ms']:.1f} "
                  f"({rows_by_threads[n][i]['min_ms']:.1f}-{rows_by_threads[n][i]['max_ms']:.1f})"
                  for n in threads]
        cells.append(_float_share(first[i]))
        lines.append("| " + " | ".join(cells) + " |")
    kernels = sorted({row["kernels"] for row in first})
    where = ("**These are x86-64 host figures, not phone latency**: LCE's optimised binary "
             "kernels are written for ARM64, and on x86 binary layers run a portable "
             "indirect-BGEMM path." if platform.machine().lower() in ("x86_64", "amd64") else
             "**These are host figures, not phone latency**: a phone's cores, caches and "
             "thermal limits differ.")
    return "\n".join([
        "# Benchmarks",
        "",
        "## Converted models on the development host",
        "",
        f"Produced by `{command}` on {datetime.date.today()}. Host: {host_cpu()}, "
        f"{os.cpu_count()} cores. Each file was converted at the model's documented input size "
        "from untrained weights spread so that nothing folds away that a trained model keeps "
        "(`tfpose.export.job.stand_in_weights`: zero shifts, unit BatchNorms and one-slope "
        "PReLUs would vanish from an untrained file) and timed with `tfpose benchmark`: all "
        f"files in one process, interleaved, {first[0]['runs']} runs each after warm-up; "
        "median (min-max) of one inference at batch 1. Kernels: "
        f"{'; '.join(kernels)}. {where} For phones see `device/`. GMACs are real "
        "multiply-accumulates (`tfpose summary NAME`; the papers count differently, see the "
        "main README); binary MAC share is the part of them done by 1-bit convolutions. "
        "Float-op share: the float ops' part of the summed per-op times (`tfpose benchmark "
        "--profile`, below).",
        "",
        *lines,
        "",
        *_profiles(models, first, threads[0]),
        "",
        "Other files:",
        "- `ablations.md` (`python benchmarks/ablations.py`): each method's defining choice "
        "trained against its alternative on synthetic figures.",
        "- `input_pipeline.py`: images per second of the tf.data training pipeline from raw "
        "files and from prepared TFRecords (its sections below).",
        "- `device/`: phone latency over adb with `lce_benchmark_model` (not run here: no phone).",
        "",
    ])


def _float_share(row: dict) -> str:
    detail = row.get("profile_detail")
    if not detail:
        return "-"
    return f"{100 * detail['float_ms'] / detail['sum_of_ops_ms']:.0f}%"


def _profiles(models, rows: list[dict], threads: int) -> list[str]:
    """Each file's op types with their ms and share of the summed op times."""
    lines = ["### Where the time goes, op type by op type", "",
             f"`tfpose benchmark --profile` at {threads} thread{'s' if threads > 1 else ''}: "
             "every op cut from the file into a model of its own and timed alone and in four "
             "copies (`tfpose.op_profile`); 'ops sum' is the per-op times' sum against the whole "
             "file's time over the same stretch. Op types under 1% are left out.", ""]
    for model, row in zip(models, rows, strict=True):
        detail = row.get("profile_detail")
        if not detail:
            continue
        total = detail["sum_of_ops_ms"]
        types = ", ".join(f"{name} {ms:.1f} ({100 * ms / total:.0f}%)"
                          for name, ms in detail["by_type"].items() if ms >= 0.01 * total)
        lines.append(f"- **{model.label}**: ops sum {total:.1f} ms, whole file "
                     f"{detail['whole_ms']:.1f} ms; binary {detail['binary_ms']:.1f} ms, float "
                     f"{detail['float_ms']:.1f} ms. {types}.")
    return lines


def _kept_sections(table: Path) -> str:
    """The sections other scripts keep in the table file (``<!-- name -->`` ... ``<!-- /name
    -->``, e.g. ``input_pipeline.py``'s), carried over unchanged."""
    if not table.is_file():
        return ""
    found = re.finditer(r"<!-- ([\w-]+) -->\n.*?<!-- /\1 -->\n", table.read_text(), re.S)
    return "".join("\n" + match.group(0) for match in found)


def _report(path: Path) -> dict:
    return json.loads(path.with_suffix(".json").read_text())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "benchmarks",
                        help="where the converted files go (kept: a second run reuses them)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--table", type=Path, default=REPO / "benchmarks" / "README.md")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    sys.path.insert(0, str(REPO))
    from tfpose.benchmark import benchmark
    from tfpose.errors import TfposeError

    args.out.mkdir(parents=True, exist_ok=True)
    try:
        paths = convert_all(args.out, MODELS)
        rows = {n: benchmark(paths, threads=n, runs=args.runs, profile=n == args.threads[0])
                for n in args.threads}
    except (TfposeError, ValueError) as error:  # the table is left as it was
        print(f"error: {error}", file=sys.stderr)
        return 1
    command = "python benchmarks/converted_models.py" + (
        "" if argv is None and len(sys.argv) == 1 else " " + " ".join(argv or sys.argv[1:]))
    text = markdown(MODELS, paths, rows, command)
    args.table.write_text(text + _kept_sections(args.table))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
