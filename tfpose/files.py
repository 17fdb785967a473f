"""Files written so that a kill never leaves a broken one: each goes to a temporary file in the
target's folder that is renamed over the target, so readers see the old file or the new one,
never half of one (a kill leaves at most a stray ``.*.tmp``).

The one owner of atomic writes: checkpoints, reports, COCO results, synthetic annotations and
converted models all write through :func:`write_json_atomically`, :func:`write_bytes_atomically`
or :func:`publish` (for files a library writes itself, such as ``model.save``); cache folders
(the synthetic dataset, prepared validation copies) through :func:`make_folder_once`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

# Temporary files are created private (0600); published files get the usual permissions.
_UMASK = os.umask(0)
os.umask(_UMASK)


def temporary_beside(path: Path, suffix: str = ".tmp") -> str:
    """A new empty temporary file in ``path``'s folder (created with it), for :func:`publish`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    return temp


def publish(temp: str, path: Path) -> None:
    """Rename the finished ``temp`` over ``path``, with the permissions a new file would get."""
    os.chmod(temp, 0o666 & ~_UMASK)
    os.replace(temp, path)


def write_bytes_atomically(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file renamed over it."""
    path = Path(path)
    temp = temporary_beside(path)
    try:
        Path(temp).write_bytes(data)
        publish(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)
    return path


def write_json_atomically(path, data, *, indent: int | None = 1) -> Path:
    """Write ``data`` as json (``indent=None``: compact, for large files such as COCO results)
    through a temporary file renamed over ``path``. Numpy scalars and paths become plain
    values."""
    text = json.dumps(data, indent=indent, default=_plain)
    return write_bytes_atomically(path, text.encode("utf-8"))


def _plain(value):
    """json fallback for numpy scalars and paths."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def make_folder_once(root: Path, complete: Path, write: Callable[[Path], object]) -> None:
    """Make the cache folder ``root`` with ``write(staging)``, unless ``complete`` (a file that
    ``write`` makes last, inside the folder) is there already.

    ``write`` fills a temporary sibling folder, which is renamed into place: a folder is only
    ever seen complete, and one that another process finished first is kept, not replaced
    while that process may be reading it.
    """
    if complete.is_file():
        return
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        write(staging)
        if not complete.is_file():  # another process may have finished first
            shutil.rmtree(root, ignore_errors=True)  # a stale, incomplete folder
            try:
                os.replace(staging, root)
            except OSError:
                if not complete.is_file():
                    raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
