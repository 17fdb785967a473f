"""``tfpose`` model commands: ``models``, ``summary``, ``lce-check`` and ``import-weights``."""

from __future__ import annotations

import json
from pathlib import Path

from tfpose.argtypes import parse_size, positive_int
from tfpose.cli.common import CheckFailed, print_result


class LCECheckFailed(CheckFailed):
    """``lce-check``: a binary layer did not become ``LceBconv2d`` (exit status 1)."""


# ---- models / summary / lce-check ---------------------------------------------------------
def cmd_models(args) -> None:
    from tfpose.models.zoo import MODELS

    for name, entry in MODELS.items():
        size = "x".join(map(str, entry.input_size))
        print(f"{name}\t{size}\t{entry.num_keypoints} keypoints\t{entry.description}")


def _build(args):
    from tfpose.models import create

    return create(args.name, input_size=args.input_size, num_keypoints=args.num_keypoints)


def cmd_summary(args) -> None:
    from tfpose.models.summary import model_summary
    from tfpose.models.zoo import entry

    convention = entry(args.name).mac_convention  # the count the model's paper published
    print_result({"model": args.name, **model_summary(_build(args), convention)}, args.json)


def cmd_lce_check(args) -> None:
    from tfpose.export.folding import rprelu_shifts_folded
    from tfpose.export.job import stand_in_weights
    from tfpose.export.lce import convert_to_lce, lce_report
    from tfpose.runtime.interpreter import file_kernels, host_interpreter

    model = _build(args)
    stand_in_weights(model)  # the float ops a trained model keeps, as `tfpose convert NAME`
    with rprelu_shifts_folded(model):
        flatbuffer = convert_to_lce(model)
        report = lce_report(model, flatbuffer)
    if not args.no_timing:
        from tfpose.op_profile import float_ops_left, profile

        timed = profile(flatbuffer, host_interpreter, runs=args.runs)
        report["host_time"] = {"kernels": file_kernels(flatbuffer), "threads": 1,
                               "runs": args.runs, **float_ops_left(timed)}
    if args.json:
        print(json.dumps({"model": args.name, **report}, indent=1))
    else:
        _print_lce_report(args.name, report)
    if report["not_binarised"] or report["lce_bconv2d"] != report["quant_conv2d"]:
        raise LCECheckFailed(f"{args.name}: {report['quant_conv2d'] - report['lce_bconv2d']} "
                             "binary layers did not become LceBconv2d")


_BN_LABELS = {True: "fused", False: "float", None: "-"}


def _print_lce_report(name: str, report: dict) -> None:
    """``lce-check``'s readable output: counts, one line per binary conv, totals, host time."""
    print_result({"model": name, **{k: report[k] for k in (
        "quant_conv2d", "binary_layers", "lce_bconv2d", "float_conv2d", "flatbuffer_bytes",
        "ops")}}, False)
    for entry in report["not_binarised"]:
        print(f"not binarised: {entry['layer']}: {'; '.join(entry['reasons'])}")
    for entry in report["advice"]:
        print(f"advice: {entry['layer']}: {'; '.join(entry['notes'])}")
    convs = report.get("convs", [])
    if convs:
        width = max(len("layer"), *(len(row["layer"]) for row in convs))
        print("\nbinary convs, in op order:")
        print(f"  {'layer':<{width}}  {'BN':<5}  {'output':<9}  {'in':>5}  {'out':>5}  read by")
        for row in convs:
            cin = f"{row['channels_in']}{'' if row['channels_in_ok'] else '!'}"
            cout = f"{row['channels_out']}{'' if row['channels_out_ok'] else '!'}"
            print(f"  {row['layer']:<{width}}  {_BN_LABELS[row['bn_fused']]:<5}  "
                  f"{row['output']:<9}  {cin:>5}  {cout:>5}  "
                  f"{', '.join(row['read_by']) or '(model output)'}")
        print("  (BN: fused into the op, 'float' = float MUL / ADD after it, '-' = none follows; "
              "! = not a multiple of 32 in, 8 out)")
    totals = report.get("conv_totals")
    if totals:
        print(f"totals: {totals['bn_fused']} of {totals['with_bn']} BN fused, "
              f"{totals['bitpacked_outputs']} of {totals['convs']} outputs bitpacked, "
              f"{totals['channels_in_not_multiple_of_32']} convs with input channels not a "
              f"multiple of 32, {totals['channels_out_not_multiple_of_8']} with output channels "
              "not a multiple of 8")
    timing = report.get("host_time")
    if timing:
        print(f"\nhost time, each op timed alone (tfpose.op_profile; {timing['kernels']}, "
              f"{timing['threads']} thread; medians of {timing['runs']} runs; this host, not a "
              "phone):")
        print(f"  whole file {timing['whole_ms']:.2f} ms; ops summed {timing['sum_of_ops_ms']:.2f}"
              f" ms = binary {timing['binary_ms']:.2f} ms ({timing['binary_share']:.0%}) + float "
              f"{timing['float_ms']:.2f} ms ({timing['float_share']:.0%})")
        print(f"float ops left:\n  {'op':<24} {'count':>5} {'ms':>9}  {'share':>6}")
        for row in timing["float_ops"]:
            print(f"  {row['op']:<24} {row['count']:>5} {row['ms']:>9.3f}  {row['share']:>6.1%}")


# ---- import-weights ------------------------------------------------------------------------
def cmd_import_weights(args) -> None:
    from tfpose.weights import import_weights

    summary = import_weights(args.checkpoint, args.model, out=args.out,
                             input_size=args.input_size, num_keypoints=args.num_keypoints)
    if args.json:
        print(json.dumps(summary, indent=1))
        return
    size = "x".join(map(str, summary["input_size"]))
    print(f"read {summary['checkpoint']}: {summary['source']}")
    print(f"filled {summary['filled_layers']} layers of {summary['model']} ({summary['tensors']} "
          f"tensors); input {size} RGB in [0, 255], normalised in the graph"
          + (" (first conv reads the channels in the BGR order its weights were trained on)"
             if summary["input_convention"] == "bgr" else ""))
    if summary["left_layers"]:
        print(f"left as initialised (the head): {', '.join(summary['left_layers'])}")
    for prefix, count in summary["unused"].items():
        print(f"not used (no pose network has it): {count} tensors under {prefix}")
    print(f"wrote {summary['output']} ({summary['kind']}, {summary['keypoints']} keypoints)")


def _add_model_arguments(p) -> None:
    p.add_argument("name", help="zoo model name (see `tfpose models`)")
    p.add_argument("--input-size", type=parse_size, metavar="HxW",
                   help="default: the model's documented size")
    p.add_argument("--num-keypoints", type=int, help="default: the model's dataset")
    p.add_argument("--json", action="store_true")


def add_parsers(sub) -> None:
    p = sub.add_parser("models", help="list the zoo's models (name first, one per line)")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("summary", help="parameters, MACs (binary / float), OPs (binary MACs / 64 "
                       "+ float MACs) and sizes of a model")
    _add_model_arguments(p)
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("lce-check", help="convert with LCE and check every binary conv became "
                       "LceBconv2d (exit 1 when one did not); per binary conv: BatchNorm fused, "
                       "bitpacked output, channel multiples; the float ops' share of host time")
    _add_model_arguments(p)
    p.add_argument("--no-timing", action="store_true",
                   help="skip timing the file op by op on this machine (tfpose.op_profile)")
    p.add_argument("--runs", type=positive_int, default=3,
                   help="timed runs per op (median; default 3, plus 2 warm-up runs)")
    p.set_defaults(func=cmd_lce_check)

    p = sub.add_parser(
        "import-weights", help="a published checkpoint (PyTorch .pth, safetensors, Keras .h5) "
        "as a tfpose .keras model",
        description="Read a published checkpoint, recognise its layout from its key names (the "
        "HRNet, SimpleBaseline and LitePose authors', mmpose 0.x / 1.x, timm / torchvision / "
        "tf.keras.applications ImageNet backbones), put every tensor into exactly one weight of "
        "--model and save it with its model information. Nothing is written when a key is left "
        "over or missing or a shape differs (tfpose.weights).")
    p.add_argument("checkpoint", type=Path, help=".pth / .pth.tar / .pt, .safetensors or .h5")
    p.add_argument("--model", required=True, help="zoo model to fill (see `tfpose models`): "
                   "hrnet_w*, simplebaseline_r*, fasterpose (ImageNet ResNet), litepose_*")
    p.add_argument("--input-size", type=parse_size, metavar="HxW",
                   help="model input (default: the model's documented size)")
    p.add_argument("--num-keypoints", type=int, help="K (default: the checkpoint's, or the "
                   "model's dataset for a backbone)")
    p.add_argument("--out", type=Path, required=True, help="the .keras file to write")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import_weights)
