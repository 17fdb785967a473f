"""The golden files the Android demo's JVM tests read are what this package computes now."""

from pathlib import Path

import numpy as np
import pytest

from tfpose.export.golden import golden_files

GOLDEN = Path(__file__).parents[2] / "android_demo" / "golden"


def _sections(text: str) -> dict[str, list[str]]:
    lines = [line.split() for line in text.splitlines() if line and not line.startswith("#")]
    sections, i = {}, 0
    while i < len(lines):
        header = lines[i]
        count = int(np.prod([int(d) for d in header[1:]]))
        values = []
        i += 1
        while len(values) < count:
            values += lines[i]
            i += 1
        sections[header[0]] = (header[1:], values)
    return sections


@pytest.mark.parametrize("name", sorted(golden_files()))
def test_committed_golden_file_matches_the_package(name):
    committed = GOLDEN / name
    assert committed.is_file(), f"{committed} missing: run python -m tfpose.export.golden"
    want, got = _sections(committed.read_text()), _sections(golden_files()[name])
    assert want.keys() == got.keys()
    for section, (shape, values) in got.items():
        assert want[section][0] == shape, section
        if section.endswith("_names"):
            assert want[section][1] == values, section
        else:
            np.testing.assert_allclose(np.array(want[section][1], float), np.array(values, float),
                                       rtol=1e-6, atol=1e-6, err_msg=f"{name}: {section}")


def test_golden_folder_has_no_stale_files():
    assert sorted(p.name for p in GOLDEN.glob("*.txt")) == sorted(golden_files())
