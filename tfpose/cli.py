"""The ``tfpose`` command. Each subcommand is a thin layer over a library function.

Errors caused by input (missing files, malformed annotations, bad flags) print one line naming
the file and exit with status 2; ``--json`` output goes to stdout, logs and progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import tfpose  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from tfpose.deploy_cli import CheckFailed
from tfpose.deploy_cli import add_parsers as add_deploy_parsers
from tfpose.errors import TfposeError

DATASETS = ("coco", "crowdpose", "mpii")


def parse_size(text: str) -> tuple[int, int]:
    """``"256x192"`` -> ``(256, 192)`` (height x width)."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected HEIGHTxWIDTH such as 256x192, got {text!r}") from None
    if height <= 0 or width <= 0:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return height, width


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _format(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _print_table(columns: dict[str, dict]) -> None:
    """Metrics as rows, one column per entry (e.g. per decoder)."""
    names = list(next(iter(columns.values())))
    print(f"{'':<16}" + "".join(f"{c:>12}" for c in columns))
    for name in names:
        print(f"{name:<16}" + "".join(f"{_format(col[name]):>12}" for col in columns.values()))


def _print(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=1))
        return
    if len(result) > 1 and all(isinstance(v, dict) for v in result.values()):
        _print_table(result)
        return
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for name, v in value.items():
                print(f"  {name:<16} {v:.2f}" if isinstance(v, float) else f"  {name:<16} {v}")
        else:
            print(f"{key:<18} {_format(value)}")


# ---- codec-check ---------------------------------------------------------------------------
def cmd_codec_check(args) -> None:
    from tfpose.codecs.heatmap import DECODERS, HeatmapCodec
    from tfpose.evaluation.codec_check import codec_check

    ann = args.ann
    if ann is None:
        from tfpose.data.bundled import synthetic_dataset

        ann, _ = synthetic_dataset("val", num_images=args.synthetic_images, progress=not args.json)
        logging.getLogger("tfpose").info("no --ann given: checking bundled synthetic data %s", ann)
    if args.bottom_up:
        _bottom_up_check(args, ann)
        return
    decoders = DECODERS if args.decoder == "all" else (args.decoder,)
    codec = HeatmapCodec(input_size=args.input_size or (256, 192),
                         heatmap_size=args.heatmap_size, sigma=args.sigma)
    results = {
        decoder: codec_check(ann, codec, dataset=args.dataset, decoder=decoder, boxes=args.boxes,
                             progress=not args.json)
        for decoder in decoders
    }
    _print(results[decoders[0]] if len(decoders) == 1 else results, args.json)


def _bottom_up_check(args, ann) -> None:
    from tfpose.codecs.associative_embedding import BottomUpCodec
    from tfpose.evaluation.bottomup_check import bottomup_check

    codec = BottomUpCodec(input_size=args.input_size or (512, 512), sigma=args.sigma)
    _print(bottomup_check(ann, codec, dataset=args.dataset, flip=args.flip_test,
                          progress=not args.json), args.json)


# ---- evaluate-mpii -------------------------------------------------------------------------
def cmd_evaluate_mpii(args) -> None:
    from tfpose.evaluation import mpii

    gt = mpii.load_ground_truth_mat(args.gt)
    preds = mpii.load_predictions(args.pred, num_persons=gt.num_persons)
    _print(mpii.evaluate_pckh(preds, gt, one_based=args.one_based), args.json)


# ---- show-dataset --------------------------------------------------------------------------
def cmd_show_dataset(args) -> None:
    from tfpose.data.showcase import show_dataset

    written = show_dataset(args.ann, args.images, args.out, dataset=args.dataset,
                           num_images=args.num_images, augment=args.augment,
                           input_size=args.input_size, seed=args.seed)
    _print({"written": [str(p) for p in written]} if args.json else
           {"written": len(written), "out": str(args.out)}, args.json)


# ---- make-synthetic ------------------------------------------------------------------------
def cmd_make_synthetic(args) -> None:
    from tfpose.data.synthetic import make_synthetic_dataset

    ann = make_synthetic_dataset(args.out, args.num_images, image_size=args.image_size,
                                 seed=args.seed, split=args.split, progress=not args.json)
    _print({"annotations": str(ann), "images": str(Path(args.out) / "images" / args.split)},
           args.json)


def cmd_prepare(args) -> None:
    from tfpose.data import prepared  # TensorFlow Datasets only for this command

    builder = prepared.prepare(args.dataset, args.data_dir, manual_dir=args.manual_dir,
                               synthetic_images=tuple(args.synthetic_images))
    result = {"dataset": builder.name, "data_dir": builder.data_dir}
    for split in prepared.reading.SPLITS:
        info = builder.info.splits[split]
        counts = builder.info.metadata["counts"][split]
        result[split] = {"images": counts["images"], "persons": counts["persons"],
                         "shards": len(info.filenames), "MB": round(info.num_bytes / 1e6, 2)}
    _print(result, args.json)


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
    _print({"model": args.name, **model_summary(_build(args), convention)}, args.json)


def cmd_lce_check(args) -> None:
    from tfpose.export.folding import rprelu_shifts_folded
    from tfpose.export.job import stand_in_weights
    from tfpose.export.lce import convert_to_lce, host_interpreter, host_kernels, lce_report

    model = _build(args)
    stand_in_weights(model)  # the float ops a trained model keeps, as `tfpose convert NAME`
    with rprelu_shifts_folded(model):
        flatbuffer = convert_to_lce(model)
        report = lce_report(model, flatbuffer)
    if not args.no_timing:
        from tfpose.op_profile import float_ops_left, profile

        timed = profile(flatbuffer, host_interpreter, runs=args.runs)
        report["host_time"] = {"kernels": host_kernels(report["lce_bconv2d"] > 0), "threads": 1,
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
    _print({"model": name, **{k: report[k] for k in (
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


class LCECheckFailed(TfposeError):
    pass


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfpose", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tfpose {tfpose.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("codec-check", help="encode -> decode ground truth and score it (upper "
                       "bound of any model using the codec)")
    p.add_argument("--ann", type=Path, help="COCO-format keypoints json (default: bundled "
                   "synthetic validation data, generated on first use)")
    p.add_argument("--dataset", choices=("coco", "crowdpose"), default="coco")
    p.add_argument("--bottom-up", action="store_true", help="check the bottom-up codec "
                   "(whole images, associative-embedding grouping) instead of the top-down one")
    p.add_argument("--input-size", type=parse_size, metavar="HxW",
                   help="model input (default: 256x192, or 512x512 with --bottom-up)")
    p.add_argument("--flip-test", action="store_true",
                   help="--bottom-up: also feed the mirrored image's outputs (flip test)")
    p.add_argument("--heatmap-size", type=parse_size, default=(64, 48), metavar="HxW")
    p.add_argument("--sigma", type=float, default=2.0)
    p.add_argument("--decoder", choices=("argmax", "quarter", "dark", "all"), default="dark")
    p.add_argument("--boxes", choices=("training", "annotation"), default="training",
                   help="crop as training does (box grown to cover labelled keypoints) or "
                   "from the bare annotation box")
    p.add_argument("--synthetic-images", type=int, default=64, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_codec_check)

    p = sub.add_parser("evaluate-mpii", help="MPII PCKh@0.5 / @0.1 of predictions")
    p.add_argument("--pred", type=Path, required=True,
                   help="[N, 16, 2] 0-based predictions: .npy, or .mat with field 'preds'")
    p.add_argument("--gt", type=Path, required=True, help="official validation ground truth .mat")
    p.add_argument("--one-based", action="store_true",
                   help="predictions are already 1-based (e.g. HRNet's pred.mat)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate_mpii)

    p = sub.add_parser("show-dataset", help="draw ground-truth skeletons on images and crops")
    p.add_argument("--ann", type=Path, required=True, help="annotation json (COCO layout, or "
                   "the MPII json layout with --dataset mpii)")
    p.add_argument("--images", type=Path, required=True, help="folder of the images")
    p.add_argument("--out", type=Path, required=True, help="folder for the PNG files")
    p.add_argument("--dataset", choices=DATASETS, default="coco")
    p.add_argument("--num-images", type=int, default=8)
    p.add_argument("--augment", action="store_true", help="also draw augmented training crops")
    p.add_argument("--input-size", type=parse_size, default=(256, 192), metavar="HxW")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show_dataset)

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
    p.add_argument("--runs", type=_positive_int, default=3,
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

    p = sub.add_parser("make-synthetic", help="write a COCO-format folder of drawn figures")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--num-images", type=int, default=64)
    p.add_argument("--image-size", type=parse_size, default=(256, 256), metavar="HxW")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="train")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_make_synthetic)

    p = sub.add_parser("prepare", help="write a dataset as a TFDS prepared dataset (sharded "
                       "TFRecords) for --data-source tfds")
    p.add_argument("dataset", choices=("coco", "mpii", "crowdpose", "synthetic"))
    p.add_argument("--manual-dir", type=Path,
                   help="the official files, in the layout of `--data-root` (not for synthetic)")
    p.add_argument("--data-dir", help="TFDS data folder, a local path or gs://... (default: "
                   "$TFDS_DATA_DIR or ~/tensorflow_datasets)")
    p.add_argument("--synthetic-images", type=int, nargs=2, default=(1200, 64),
                   metavar=("TRAIN", "VAL"), help="synthetic only: images per split")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_prepare)

    add_deploy_parsers(sub, parse_size)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Our messages at INFO; TensorFlow's own Python logging only from WARNING up.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("tfpose").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        args.func(args)
    except (LCECheckFailed, CheckFailed) as e:
        print(f"tfpose {args.command}: {e}", file=sys.stderr)
        return 1
    except (TfposeError, ValueError, OSError) as e:
        if args.verbose:
            raise
        print(f"tfpose {args.command}: error: {e} (-v shows the traceback)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
