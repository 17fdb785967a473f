"""Latency of ``.tflite`` files on an Android phone over adb, with LCE's ``lce_benchmark_model``.

    python benchmarks/device/run_on_phone.py runs/bihrnet/model.tflite other.tflite \
        --benchmark-binary ./lce_benchmark_model --threads 1 4 --json phone.json

Pushes the benchmark binary and each model to ``/data/local/tmp/tfpose`` on the phone adb
sees, runs ``lce_benchmark_model --graph=... --num_threads=N`` for each thread count, and
prints (and with ``--json`` writes) one row per model and thread count in the shape of
``tfpose benchmark --json``: ``model``, ``median_ms`` (the tool's average where it does not
print a median; ``statistic`` says which), ``min_ms``, ``max_ms``, and ``measured_on`` with the
phone's model, SoC and ABI. See README.md beside this file for getting the binary. Nothing here
runs on the development machines, which have no phone: the parser is what the tests check.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

REMOTE_DIR = "/data/local/tmp/tfpose"
# The benchmark tool's summary of the timed runs, in microseconds, e.g.
# "count=50 first=4890 curr=4712 min=4650 max=5102 avg=4755.3 std=88 [p5=... median=... p95=...]"
TIMINGS = re.compile(r"count=(?P<count>\d+)\s.*?min=(?P<min>[\d.]+)\s+max=(?P<max>[\d.]+)\s+"
                     r"avg=(?P<avg>[\d.e+]+)(?:.*?median=(?P<median>[\d.]+))?")


class PhoneError(RuntimeError):
    """adb or the benchmark tool failed; the message says which command and why."""


def parse_timings(output: str) -> dict:
    """Figures of the timed runs from ``lce_benchmark_model``'s output (the last summary line:
    the first belongs to the warm-up)."""
    matches = list(TIMINGS.finditer(output))
    if not matches:
        raise PhoneError("no timing summary (count=... min=... max=... avg=...) in the "
                         "benchmark output:\n" + output[-2000:])
    last = matches[-1]
    median = last["median"]
    return {"median_ms": round(float(median or last["avg"]) / 1e3, 3),
            "statistic": "median" if median else "mean (the tool printed no median)",
            "min_ms": round(float(last["min"]) / 1e3, 3),
            "max_ms": round(float(last["max"]) / 1e3, 3), "runs": int(last["count"])}


def adb(*args: str, serial: str | None = None) -> str:
    command = ["adb", *(["-s", serial] if serial else []), *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except FileNotFoundError:
        raise PhoneError("adb not found: install Android platform-tools, put adb on PATH") \
            from None
    except subprocess.TimeoutExpired:
        raise PhoneError(f"{shlex.join(command)} did not finish in 15 minutes") from None
    if done.returncode != 0:
        raise PhoneError(f"{shlex.join(command)} failed ({done.returncode}):\n"
                         f"{(done.stderr or done.stdout).strip()}")
    return done.stdout


def phone_label(serial: str | None) -> str:
    """``"Pixel 7 (gs201), arm64-v8a"``: what the figures were measured on."""
    prop = lambda name: adb("shell", "getprop", name, serial=serial).strip()  # noqa: E731
    return f"{prop('ro.product.model')} ({prop('ro.board.platform')}), {prop('ro.product.cpu.abi')}"


def run(models: list[Path], binary: Path, threads: list[int], runs: int,
        serial: str | None) -> list[dict]:
    for path in [binary, *models]:
        if not path.is_file():
            raise PhoneError(f"{path}: file not found")
    label = phone_label(serial)
    adb("shell", "mkdir", "-p", REMOTE_DIR, serial=serial)
    remote_binary = f"{REMOTE_DIR}/lce_benchmark_model"
    adb("push", str(binary), remote_binary, serial=serial)
    adb("shell", "chmod", "+x", remote_binary, serial=serial)
    rows = []
    for model in models:
        remote_model = f"{REMOTE_DIR}/{model.name}"
        adb("push", str(model), remote_model, serial=serial)
        for n in threads:
            output = adb("shell", remote_binary, f"--graph={remote_model}", f"--num_threads={n}",
                         f"--num_runs={runs}", serial=serial)
            rows.append({"model": str(model), **parse_timings(output), "threads": n,
                         "size_bytes": model.stat().st_size,
                         "measured_on": f"{label}; {n} thread(s), lce_benchmark_model"})
            print(f"{model.name:<40} {n} thread(s) {rows[-1]['median_ms']:>9.2f} ms "
                  f"({rows[-1]['statistic']})", flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path, help=".tflite files")
    parser.add_argument("--benchmark-binary", type=Path, required=True,
                        help="lce_benchmark_model built or downloaded for android arm64")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--serial", help="adb device serial when several are attached")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    try:
        rows = run(args.models, args.benchmark_binary, args.threads, args.runs, args.serial)
    except PhoneError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
