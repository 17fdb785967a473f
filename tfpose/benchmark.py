"""Host latency of ``.tflite`` files, side by side: ``tfpose benchmark A.tflite B.tflite ...``.

All files load in one process and run interleaved (one invocation of each in turn, after
``warmup`` rounds), so a slow moment of the machine hits every model alike. Every file runs as
:func:`tfpose.runtime.interpreter.host_interpreter` runs it: float ops under XNNPACK, LCE's binary
convolutions with indirect BGEMM (one thread on x86). Any ``.tflite`` works, so a peer's model
can stand beside ours. Every figure carries
where and how it was measured (host CPU, threads, kernels): these are host figures, not phone
latency; ``benchmarks/device/`` measures phones.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tfpose import op_profile
from tfpose.errors import DataError
from tfpose.runtime.flatbuffer import io_details
from tfpose.runtime.interpreter import (
    LCEMissing,
    file_kernels,
    host_interpreter,
    is_binary_file,
)


def host_cpu() -> str:
    """``"x86_64, Intel(R) Xeon(R) ..."``: the architecture and, where known, the CPU model."""
    name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware")):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {name}" if name else platform.machine()


class _Timed:
    """One file ready to time."""

    def __init__(self, path: Path, threads: int):
        if not path.is_file():
            raise DataError(path, "model file not found")
        flatbuffer = path.read_bytes()
        try:  # reads the whole op list, so a damaged file fails here
            self.binary = is_binary_file(flatbuffer)
            details = io_details(flatbuffer)
        except Exception as e:  # flatbuffers raises plain errors on garbage
            raise DataError(path, f"not a readable .tflite flatbuffer ({type(e).__name__})") \
                from None
        self.path, self.size, self.flatbuffer = path, len(flatbuffer), flatbuffer
        self.threads = threads
        self.kernels = file_kernels(flatbuffer)
        try:
            self.interpreter = self.make_interpreter(flatbuffer)
        except LCEMissing as e:
            raise DataError(path, str(e)) from None
        except (RuntimeError, ValueError) as e:
            raise DataError(path, f"the interpreter cannot load it: {e}") from None
        rng = np.random.default_rng(0)
        self.inputs = [_random_input(d, rng) for d in details["inputs"]]
        self.times: list[float] = []

    def make_interpreter(self, flatbuffer: bytes):
        """An interpreter for ``flatbuffer`` (this file or a piece of it) with this file's
        threads and kernels."""
        return host_interpreter(flatbuffer, self.threads)

    def run(self) -> float:
        start = time.perf_counter()
        self.interpreter.predict(self.inputs if len(self.inputs) > 1 else self.inputs[0])
        return time.perf_counter() - start


def _random_input(detail: dict, rng) -> np.ndarray:
    shape = detail["shape"]
    if detail["dtype"] in ("uint8", "int8"):
        info = np.iinfo(detail["dtype"])
        return rng.integers(info.min, info.max, shape, endpoint=True).astype(detail["dtype"])
    return rng.uniform(0, 255, shape).astype(np.float32)


def benchmark(paths, *, threads: int = 1, runs: int = 20, warmup: int = 3,
              progress: bool = True, profile: bool = False) -> list[dict]:
    """Interleaved latency of every file (module docstring).

    Returns one dict per file: ``model``, ``median_ms``, ``min_ms``, ``max_ms``, ``runs``,
    ``size_bytes``, ``macs`` (from the conversion report beside the file, when there is one),
    ``binary``, ``kernels``, ``threads`` and ``measured_on`` (the label every figure carries).
    ``profile=True`` adds ``profile`` (ms per op type, :mod:`tfpose.op_profile`) and
    ``profile_detail`` (the whole file's and the ops' summed ms, binary and float ms, the ten
    slowest ops with their output names, shapes and MACs).
    """
    if threads < 1 or runs < 1 or warmup < 0:
        raise ValueError(f"need threads >= 1, runs >= 1, warmup >= 0; got {threads}, {runs}, "
                         f"{warmup}")
    models = [_Timed(Path(p), threads) for p in paths]
    if not models:
        raise ValueError("no model to benchmark")
    for _ in range(warmup):
        for model in models:
            model.run()
    for _ in tqdm(range(runs), desc="benchmark", unit="round", disable=not progress):
        for model in models:
            model.times.append(model.run())
    cpu = host_cpu()
    rows = [_row(model, threads, cpu) for model in models]
    if profile:
        for model, row in zip(models, rows, strict=True):
            found = op_profile.profile(
                model.flatbuffer, model.make_interpreter, runs=max(5, min(runs, 10)),
                progress=lambda ops, m=model: tqdm(ops, desc=f"profile {m.path.name}",
                                                   unit="op", disable=not progress))
            row["profile"] = {k: round(v, 3) for k, v in found.by_type().items()}
            row["profile_detail"] = found.as_json()
    return rows


def _row(model: _Timed, threads: int, cpu: str) -> dict:
    ms = [1e3 * t for t in model.times]
    label = f"{cpu}; {threads} thread(s), {model.kernels}; host, not a phone"
    return {"model": str(model.path), "median_ms": round(statistics.median(ms), 3),
            "min_ms": round(min(ms), 3), "max_ms": round(max(ms), 3), "runs": len(ms),
            "size_bytes": model.size, "macs": _macs(model.path), "binary": model.binary,
            "kernels": model.kernels, "threads": threads, "measured_on": label}


def _macs(path: Path) -> int | None:
    report = path.with_suffix(".json")
    try:
        return int(json.loads(report.read_text())["macs"]) if report.is_file() else None
    except (ValueError, KeyError, TypeError):
        return None


def table(rows: list[dict]) -> str:
    """A plain-text table of :func:`benchmark` rows."""
    lines = [f"{'model':<40}{'median ms':>11}{'min':>9}{'max':>9}{'MB':>8}{'GMACs':>8}  kernels"]
    for row in rows:
        macs = f"{row['macs'] / 1e9:.3f}" if row["macs"] else "-"
        lines.append(f"{Path(row['model']).name:<40}{row['median_ms']:>11.2f}"
                     f"{row['min_ms']:>9.2f}{row['max_ms']:>9.2f}"
                     f"{row['size_bytes'] / 1e6:>8.2f}{macs:>8}  {row['kernels']}")
    lines.append(f"measured on {rows[0]['measured_on'].split(';')[0]}, {rows[0]['runs']} "
                 f"interleaved runs each: host figures, not phone latency")
    for row in rows:
        if "profile_detail" in row:
            lines += ["", *profile_table(row)]
    return "\n".join(lines)


def profile_table(row: dict) -> list[str]:
    """The op breakdown of one :func:`benchmark` row measured with ``profile=True``."""
    detail = row["profile_detail"]
    whole, total = detail["whole_ms"], detail["sum_of_ops_ms"]
    lines = [f"{Path(row['model']).name}: ops sum to {total:.2f} ms, the whole file "
             f"{whole:.2f} ms ({100 * total / whole:.0f}%); binary ops {detail['binary_ms']:.2f} "
             f"ms ({100 * detail['binary_ms'] / total:.1f}%), float ops {detail['float_ms']:.2f} "
             f"ms ({100 * detail['float_ms'] / total:.1f}%)",
             f"  {'op type':<28}{'ms':>9}{'share':>8}"]
    lines += [f"  {name:<28}{ms:>9.2f}{100 * ms / total:>7.1f}%"
              for name, ms in row["profile"].items()]
    lines.append(f"  {'slowest ops':<28}{'ms':>9}{'share':>8}  {'output shape':<16}{'GMACs':>7}"
                 f"  output tensor")
    for op in detail["slowest"]:
        macs = f"{op['macs'] / 1e9:.3f}" if op["macs"] else "-"
        shape = "x".join(map(str, op["shape"]))
        lines.append(f"  {'#' + str(op['index']) + ' ' + op['op']:<28}{op['ms']:>9.2f}"
                     f"{100 * op['ms'] / total:>7.1f}%  {shape:<16}{macs:>7}  {op['output'][:48]}")
    return lines
