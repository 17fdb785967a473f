"""Helpers the ``tfpose`` command groups share: result printing, exit status 1 (flag types:
:mod:`tfpose.argtypes`)."""

from __future__ import annotations

import json

from tfpose.errors import TfposeError


class CheckFailed(TfposeError):
    """A check the command makes failed (exit status 1, not 2: the input was fine)."""


def format_value(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def print_table(columns: dict[str, dict]) -> None:
    """Metrics as rows, one column per entry (e.g. per decoder)."""
    names = list(next(iter(columns.values())))
    print(f"{'':<16}" + "".join(f"{c:>12}" for c in columns))
    for name in names:
        print(f"{name:<16}"
              + "".join(f"{format_value(col[name]):>12}" for col in columns.values()))


def print_result(result: dict, as_json: bool) -> None:
    """``result`` as indented json, a table (a dict of dicts) or ``key value`` lines."""
    if as_json:
        print(json.dumps(result, indent=1))
        return
    if len(result) > 1 and all(isinstance(v, dict) for v in result.values()):
        print_table(result)
        return
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for name, v in value.items():
                print(f"  {name:<16} {v:.2f}" if isinstance(v, float) else f"  {name:<16} {v}")
        else:
            print(f"{key:<18} {format_value(value)}")
