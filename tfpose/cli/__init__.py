"""The ``tfpose`` command. Each subcommand is a thin layer over a library function.

Errors caused by input (missing files, malformed annotations, bad flags) print one line naming
the file and exit with status 2; ``--json`` output goes to stdout, logs and progress to stderr.

One module per command group, each with ``add_parsers(sub)``: :mod:`tfpose.cli.data` (datasets
and codecs), :mod:`tfpose.cli.models` (the zoo, LCE checks, checkpoint import),
:mod:`tfpose.cli.deploy` (convert, predict, evaluate, benchmark); shared helpers in
:mod:`tfpose.cli.common`.
"""

from __future__ import annotations

import argparse
import logging
import sys

import tfpose  # sets TF_USE_LEGACY_KERAS before TensorFlow loads
from tfpose.cli import data, deploy, models
from tfpose.cli.common import CheckFailed
from tfpose.errors import TfposeError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfpose", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tfpose {tfpose.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (data, models, deploy):
        group.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Our messages at INFO; TensorFlow's own Python logging only from WARNING up.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("tfpose").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        args.func(args)
    except CheckFailed as e:
        print(f"tfpose {args.command}: {e}", file=sys.stderr)
        return 1
    except (TfposeError, ValueError, OSError) as e:
        if args.verbose:
            raise
        print(f"tfpose {args.command}: error: {e} (-v shows the traceback)", file=sys.stderr)
        return 2
    return 0
