"""The phone benchmark script, up to the phone: its parser and its errors."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "device" / "run_on_phone.py"
spec = importlib.util.spec_from_file_location("run_on_phone", SCRIPT)
run_on_phone = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_on_phone)

# The shape of benchmark_model's summary: a warm-up line, then the timed runs (microseconds).
OUTPUT = """\
Graph: [/data/local/tmp/tfpose/model.tflite]
Num threads: [4]
Running benchmark for at least 1 iterations and at least 0.5 seconds
count=12 first=9120 curr=5012 min=4987 max=9120 avg=5402.25 std=1140
Running benchmark for at least 50 iterations and at least 1 seconds
count=50 first=4890 curr=4712 min=4650 max=5102 avg=4755.3 std=88
Inference timings in us: Init: 31234, First inference: 9120, Inference (avg): 4755.3
"""


def test_the_timed_runs_are_read_not_the_warmup():
    figures = run_on_phone.parse_timings(OUTPUT)
    assert figures == {"median_ms": 4.755, "statistic": "mean (the tool printed no median)",
                       "min_ms": 4.65, "max_ms": 5.102, "runs": 50}


def test_a_printed_median_is_used():
    line = "count=50 first=4890 curr=4712 min=4650 max=5102 avg=4755.3 std=88 p5=4660 " \
           "median=4731 p95=4901"
    figures = run_on_phone.parse_timings(OUTPUT + line)
    assert figures["median_ms"] == 4.731 and figures["statistic"] == "median"


def test_output_without_timings_is_an_error_that_shows_it():
    with pytest.raises(run_on_phone.PhoneError, match="(?s)no timing summary.*unresolved"):
        run_on_phone.parse_timings("ERROR: Encountered unresolved custom op: LceBconv2d")


def test_missing_files_and_adb_are_named(tmp_path, monkeypatch, capsys):
    model = tmp_path / "model.tflite"
    assert run_on_phone.main([str(model), "--benchmark-binary", str(tmp_path / "b")]) == 1
    assert f"{tmp_path / 'b'}: file not found" in capsys.readouterr().err
    (tmp_path / "b").write_bytes(b"x")
    model.write_bytes(b"x")
    monkeypatch.setenv("PATH", str(tmp_path))  # no adb here
    assert run_on_phone.main([str(model), "--benchmark-binary", str(tmp_path / "b")]) == 1
    assert "adb not found" in capsys.readouterr().err
