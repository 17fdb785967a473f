"""``tfpose`` data and codec commands: ``codec-check``, ``evaluate-mpii``, ``show-dataset``,
``make-synthetic`` and ``prepare``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from tfpose.argtypes import parse_size
from tfpose.cli.common import print_result

DATASETS = ("coco", "crowdpose", "mpii")


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
    if args.protocol:
        raise ValueError("--protocol is a bottom-up test-time protocol: add --bottom-up")
    decoders = DECODERS if args.decoder == "all" else (args.decoder,)
    codec = HeatmapCodec(input_size=args.input_size or (256, 192),
                         heatmap_size=args.heatmap_size, sigma=args.sigma)
    results = {
        decoder: codec_check(ann, codec, dataset=args.dataset, decoder=decoder, boxes=args.boxes,
                             progress=not args.json)
        for decoder in decoders
    }
    print_result(results[decoders[0]] if len(decoders) == 1 else results, args.json)


def _bottom_up_check(args, ann) -> None:
    from tfpose.codecs.associative_embedding import BottomUpCodec
    from tfpose.codecs.bottomup_protocol import named_protocol
    from tfpose.evaluation.bottomup_check import bottomup_check
    from tfpose.evaluation.codec_check import DATASETS as KEYPOINT_SETS

    codec = BottomUpCodec(input_size=args.input_size or (512, 512), sigma=args.sigma)
    protocol = named_protocol(args.protocol or "authors", KEYPOINT_SETS[args.dataset])
    print_result(bottomup_check(ann, codec, dataset=args.dataset, flip=args.flip_test,
                                progress=not args.json, protocol=protocol), args.json)


# ---- evaluate-mpii -------------------------------------------------------------------------
def cmd_evaluate_mpii(args) -> None:
    from tfpose.data.mpii import load_ground_truth_mat
    from tfpose.evaluation import mpii

    gt = load_ground_truth_mat(args.gt)
    preds = mpii.load_predictions(args.pred, num_persons=gt.num_persons)
    print_result(mpii.evaluate_pckh(preds, gt, one_based=args.one_based), args.json)


# ---- show-dataset --------------------------------------------------------------------------
def cmd_show_dataset(args) -> None:
    from tfpose.data.showcase import show_dataset

    written = show_dataset(args.ann, args.images, args.out, dataset=args.dataset,
                           num_images=args.num_images, augment=args.augment,
                           input_size=args.input_size, seed=args.seed)
    print_result({"written": [str(p) for p in written]} if args.json else
                 {"written": len(written), "out": str(args.out)}, args.json)


# ---- make-synthetic / prepare --------------------------------------------------------------
def cmd_make_synthetic(args) -> None:
    from tfpose.data.synthetic import make_synthetic_dataset

    ann = make_synthetic_dataset(args.out, args.num_images, image_size=args.image_size,
                                 seed=args.seed, split=args.split, progress=not args.json)
    print_result({"annotations": str(ann),
                  "images": str(Path(args.out) / "images" / args.split)}, args.json)


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
    print_result(result, args.json)


def add_parsers(sub) -> None:
    from tfpose.codecs.bottomup_protocol import PROTOCOLS

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
    p.add_argument("--protocol", choices=PROTOCOLS,
                   help="--bottom-up: the test-time protocol, as in `tfpose evaluate`: "
                   "'authors' (default; LitePose's / HigherHRNet's inputs and grouping) or "
                   "'tfpose' (the fixed input, grouping at stride 2)")
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
