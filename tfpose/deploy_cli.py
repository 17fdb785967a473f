"""The deployment subcommands of ``tfpose``: ``convert`` (also ``python convert/to_lce.py``).

Kept apart from :mod:`tfpose.cli` (data and model inspection); :func:`add_parsers` registers
them on the same parser, so errors and exit statuses follow :func:`tfpose.cli.main`.
"""

from __future__ import annotations

import json
from pathlib import Path

from tfpose.errors import TfposeError


class CheckFailed(TfposeError):
    """A check the command makes failed (exit status 1, not 2: the input was fine)."""


def cmd_convert(args) -> None:
    from tfpose.export.job import ParityError, convert_job

    try:
        report = convert_job(args.model, out=args.out, input_size=args.input_size,
                             quantization=args.quantization, decoder=args.with_decoder,
                             data=args.data, data_root=args.data_root, images_dir=args.images,
                             check_parity=not args.no_parity)
    except ParityError as e:
        raise CheckFailed(str(e)) from None
    if args.json:
        print(json.dumps(report, indent=1))
        return
    ops = ", ".join(f"{name} {count}" for name, count in sorted(
        report["ops"].items(), key=lambda item: -item[1])[:8])
    print(f"wrote {report['output']} ({report['flatbuffer_bytes'] / 1e6:.2f} MB, "
          f"{report['converter']}) and its report {Path(report['output']).with_suffix('.json')}")
    print(f"ops: {ops}; binary share of conv ops {100 * report['binary_conv_share']:.1f}%")
    for kind in ("inputs", "outputs"):
        for tensor in report[kind]:
            quant = (f", scale {tensor['scale'][0]:.4g}, zero point {tensor['zero_point'][0]}"
                     if "scale" in tensor else "")
            print(f"{kind[:-1]:<7}{tensor['name']} {tensor['shape']} {tensor['dtype']}{quant}")
    parity = report.get("parity")
    if parity:
        figures = ", ".join(f"{k} {v:.4g}" for k, v in parity.items()
                            if isinstance(v, float))
        print(f"parity on {parity['inputs']} inputs ({parity['profile']}): {figures}: passed")


def add_parsers(sub, parse_size) -> None:
    from tfpose.engine.datasets import DATASETS
    from tfpose.export.convert import QUANTIZATIONS

    p = sub.add_parser(
        "convert", help="convert a trained model to .tflite (binary models through LCE), with "
        "a report and a parity check against the Keras model",
        description="Convert a trained model to .tflite: binary models through Larq Compute "
        "Engine, float models through the TFLite converter (fp32, fp16, int8); writes the "
        "file, a json report, and checks parity with the Keras model (tfpose.export.job).")
    p.add_argument("model", nargs="?", help="a .keras model saved by tfpose, or a zoo name "
                   "(untrained; for size and speed checks); default: the main job's model, "
                   "runs/bihrnet/model.keras")
    p.add_argument("--out", type=Path, help="the .tflite to write (default: beside the model, "
                   "or in the working folder for a zoo name); the report goes beside it as .json")
    p.add_argument("--input-size", type=parse_size, metavar="HxW",
                   help="zoo models: the input size (default: the model's documented size)")
    p.add_argument("--quantization", choices=QUANTIZATIONS, default="fp32",
                   help="float models: fp32, fp16 or full-integer int8 (calibrated on --data "
                   "training inputs); binary models: fp32 around their binary layers")
    p.add_argument("--with-decoder", action="store_true",
                   help="top-down models: bake the heatmap decoding into the graph (outputs "
                   "[1, K, 3] keypoints in input pixels)")
    p.add_argument("--data", choices=DATASETS, default="synthetic",
                   help="inputs for int8 calibration and the parity check")
    p.add_argument("--data-root", type=Path, help="dataset folder for --data")
    p.add_argument("--images", type=Path, help="a folder of photos to add to the parity check")
    p.add_argument("--no-parity", action="store_true", help="skip the parity check")
    p.add_argument("--json", action="store_true", help="print the report as json")
    p.set_defaults(func=cmd_convert)
