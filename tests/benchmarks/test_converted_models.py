"""benchmarks/converted_models.py end to end on one small model: convert, time, write the table."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "converted_models.py"
spec = importlib.util.spec_from_file_location("converted_models", SCRIPT)
converted_models = importlib.util.module_from_spec(spec)
sys.modules["converted_models"] = converted_models  # dataclasses look their module up
spec.loader.exec_module(converted_models)


def test_table_has_a_labelled_row_per_model_and_thread_count(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    model = converted_models.Converted("LitePose-XS small", "litepose_xs", "fp32", (64, 64))
    monkeypatch.setattr(converted_models, "MODELS", [model])
    table = tmp_path / "README.md"
    kept = ("<!-- input-pipeline-synthetic -->\n| raw | 12 | 99 images/s |\n"
            "<!-- /input-pipeline-synthetic -->\n")
    table.write_text("# old table\n\n" + kept)
    assert converted_models.main(["--out", str(tmp_path / "files"), "--threads", "1", "2",
                                  "--runs", "2", "--table", str(table)]) == 0
    text = table.read_text()
    assert "# old table" not in text and text.endswith("\n" + kept)  # other scripts' sections stay
    assert "not phone latency" in text and "XNNPACK" in text
    row = next(line for line in text.splitlines() if line.startswith("| LitePose-XS small"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "64x64" and float(cells[2]) > 0 and len(cells) == 8
    assert all(float(c.split()[0]) > 0 for c in cells[5:7])  # medians at 1 and 2 threads
    assert cells[7] == "100%"  # a float model: every op is a float op
    profile = next(line for line in text.splitlines() if line.startswith("- **LitePose-XS small"))
    assert "ops sum" in profile and "DEPTHWISE_CONV_2D" in profile and "binary 0.0 ms" in profile
    assert (tmp_path / "files" / "litepose_xs_fp32.json").is_file()
