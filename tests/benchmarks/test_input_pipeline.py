"""benchmarks/input_pipeline.py end to end at a tiny size: prepare, measure raw and TFRecords in
pinned child processes, write its section of the table and leave the rest of the file alone."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "input_pipeline.py"
spec = importlib.util.spec_from_file_location("input_pipeline", SCRIPT)
input_pipeline = importlib.util.module_from_spec(spec)
sys.modules["input_pipeline"] = input_pipeline
spec.loader.exec_module(input_pipeline)


def test_raw_and_tfds_rows_per_core_count_in_their_own_section(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    table = tmp_path / "README.md"
    table.write_text("# Benchmarks\n\nThe converted models' table.\n")
    argv = ["--synthetic-images", "12", "--batches", "2", "--batch-size", "4", "--cores", "1",
            "--data-dir", str(tmp_path / "tfds"), "--table", str(table)]
    assert input_pipeline.main(argv) == 0
    text = table.read_text()
    assert text.startswith("# Benchmarks\n\nThe converted models' table.\n")
    assert "Host: " in text and "pinned to that many cores" in text
    for source in ("raw", "tfds"):
        row = next(line for line in text.splitlines() if line.startswith(f"| {source} |"))
        persons, figure = (c.strip() for c in row.strip("|").split("|")[1:])
        assert int(persons) > 0 and float(figure.split()[0]) > 0
    assert input_pipeline.main(argv) == 0  # a second run replaces its section
    assert table.read_text().count("<!-- input-pipeline-synthetic -->") == 1


def test_replace_section_keeps_what_surrounds_it():
    text = "head\n<!-- a -->\nold\n<!-- /a -->\ntail\n"
    assert input_pipeline.replace_section(text, "a", "new\n") == (
        "head\n<!-- a -->\nnew\n<!-- /a -->\ntail\n")
    assert input_pipeline.replace_section("head\n", "b", "x\n") == (
        "head\n\n<!-- b -->\nx\n<!-- /b -->\n")
