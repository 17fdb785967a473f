"""tfpose.files: atomic writes (a temporary file renamed over the target)."""

import json
import os

import numpy as np
import pytest

from tfpose.files import write_bytes_atomically, write_json_atomically


def test_json_and_bytes_are_written_whole_with_usual_permissions(tmp_path):
    write_json_atomically(tmp_path / "a.json", {"x": np.float32(1.5), "p": tmp_path})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1.5, "p": str(tmp_path)}
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o666 & ~umask  # not private
    write_json_atomically(tmp_path / "sub" / "compact.json", [1, 2], indent=None)
    assert (tmp_path / "sub" / "compact.json").read_text() == "[1, 2]"
    write_bytes_atomically(tmp_path / "a.json", b"new")
    assert (tmp_path / "a.json").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "sub"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old")
    with pytest.raises(TypeError):  # fails after the temporary file exists
        write_bytes_atomically(target, "text, not bytes")
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]
