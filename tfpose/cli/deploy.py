"""``tfpose`` deployment commands: ``convert`` (also ``python convert/to_lce.py``),
``predict``, ``evaluate`` and ``benchmark``.

``convert`` and ``predict`` are built on the public API (:func:`tfpose.api.convert`,
:func:`tfpose.api.load_model`).
"""

from __future__ import annotations

import json
from pathlib import Path

from tfpose.argtypes import parse_size
from tfpose.cli.common import CheckFailed
from tfpose.errors import TfposeError


def cmd_convert(args) -> None:
    from tfpose import api
    from tfpose.export.job import ParityError

    try:
        report = api.convert(args.model, out=args.out, input_size=args.input_size,
                             quantization=args.quantization, with_decoder=args.with_decoder,
                             data=args.data, data_root=args.data_root, images_dir=args.images,
                             check_parity=not args.no_parity, full_integer=args.full_integer)
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


def cmd_predict(args) -> None:
    from tfpose import api
    from tfpose.inference.predict_job import predict_inputs

    predictor = api.load_model(args.model, threads=args.threads, flip_test=args.flip_test)
    follow = args.boxes_from == "previous"
    if args.person_class is not None and (follow or args.boxes_from is None):
        raise TfposeError("--person-class is for --boxes-from DETECTOR.tflite")
    person_boxes = None
    if args.boxes_from is not None and not follow:
        person_boxes = api.load_person_boxes(Path(args.boxes_from), threads=args.threads,
                                             threshold=args.box_threshold,
                                             person_class=args.person_class)
    file_threshold = 0.5 if args.box_threshold is None else args.box_threshold
    summary = predict_inputs(predictor, args.input, args.out, boxes_file=args.boxes,
                             ann_file=args.ann, box_threshold=file_threshold,
                             min_score=args.min_score, track=args.track,
                             smoothing=_smoothing(args), follow=follow,
                             person_boxes=person_boxes)
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(f"{summary['persons']} persons in {summary['images']} image(s); drawn into "
              f"{args.out}, results in {summary['results']}")


def _smoothing(args):
    """The One-Euro settings of ``--smooth`` (its defaults where a flag is not given)."""
    given = {"min_cutoff": args.min_cutoff, "beta": args.beta, "d_cutoff": args.d_cutoff}
    if not args.smooth:
        if any(v is not None for v in given.values()):
            raise TfposeError("--min-cutoff, --beta and --d-cutoff need --smooth")
        return None
    from tfpose.inference.tracking import SmoothingSettings

    return SmoothingSettings(**{k: v for k, v in given.items() if v is not None})


def cmd_evaluate(args) -> None:
    from tfpose.evaluation.job import evaluate_model
    from tfpose.runtime.loading import load_model_file

    metrics = evaluate_model(load_model_file(args.model, threads=args.threads), args.dataset,
                             args.data_root, flip_test=not args.no_flip_test,
                             boxes_file=args.boxes, max_images=args.max_images,
                             protocol=args.protocol, scales=args.scales)
    if args.json:
        print(json.dumps(metrics, indent=1))
        return
    shown = [k for k in ("AP", "AP50", "AP75", "PCKh@0.5", "PCK@0.5", "PCK_box@0.05")
             if k in metrics]
    protocol = metrics.get("protocol")
    followed = "" if protocol is None else (
        f"{protocol['name']} protocol ({protocol['fit']} input, scales "
        f"{' '.join(f'{s:g}' for s in protocol['scales'])}), ")
    print(f"{metrics['model']} on {metrics['dataset']} ({metrics['boxes']} boxes, {followed}"
          f"flip test {'on' if metrics['flip_test'] else 'off'}, {metrics['kernels']}):")
    for key in shown:
        print(f"  {key:<14}{100 * metrics[key]:6.1f}")


def cmd_benchmark(args) -> None:
    from tfpose.benchmark import benchmark, table

    rows = benchmark(args.models, threads=args.threads, runs=args.runs, warmup=args.warmup,
                     profile=args.profile)
    print(json.dumps(rows, indent=1) if args.json else table(rows))


def add_parsers(sub) -> None:
    from tfpose.data.layouts import DATASETS
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
                   help="float models: fp32, fp16 or int8 (calibrated on --data training "
                   "inputs; depthwise convs larger than 5x5 stay float, as XNNPACK has no fast "
                   "int8 kernel for them); binary models: fp32 around their binary layers")
    p.add_argument("--full-integer", action="store_true",
                   help="int8: quantise every op, the large depthwise convs too (for "
                   "integer-only accelerators)")
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

    p = sub.add_parser("predict", help="draw predicted skeletons on an image, a folder of "
                       "images or a video, and write COCO results")
    p.add_argument("--model", type=Path, required=True, help=".keras or .tflite model")
    p.add_argument("input", type=Path, help="an image, a folder of images or a video")
    p.add_argument("--out", type=Path, required=True, help="folder for drawings and results")
    p.add_argument("--boxes", type=Path, help="top-down: person boxes, a COCO detection json "
                   "(default: the whole image is one person)")
    p.add_argument("--ann", type=Path, help="COCO annotation json giving the image ids of "
                   "--boxes by file name (default: numeric file names are ids)")
    p.add_argument("--boxes-from", metavar="previous|MODEL",
                   help="top-down without --boxes: person boxes from a bottom-up model "
                   "(LitePose .keras / .tflite), an SSD-style detector .tflite (TFLite detection "
                   "post-process outputs) or, in video, 'previous': crops around the people of "
                   "the previous frame (the whole frame when none is confident)")
    p.add_argument("--person-class", type=int, help="--boxes-from DETECTOR: the person's class "
                   "id (default: 'person' in the file's labels, else 0)")
    p.add_argument("--box-threshold", type=float,
                   help="skip boxes scored below this (default: 0.5 for detections, 0.1 for "
                   "a bottom-up model's people)")
    p.add_argument("--min-score", type=float, default=0.1,
                   help="bottom-up: draw persons scored above this (default: %(default)s)")
    p.add_argument("--flip-test", action="store_true", help="also run the mirrored input")
    p.add_argument("--threads", type=int, default=1, help=".tflite interpreter threads")
    video = p.add_argument_group("video (tfpose.inference.video)")
    video.add_argument("--track", action="store_true",
                       help="keep each person's id from frame to frame (track_id in the json)")
    video.add_argument("--smooth", action="store_true",
                       help="One-Euro filter on each tracked person's keypoints (implies --track)")
    for name, what in (("min-cutoff", "cutoff frequency at rest, Hz"),
                       ("beta", "speed coefficient, per person size per second"),
                       ("d-cutoff", "cutoff of the speed estimate, Hz")):
        video.add_argument(f"--{name}", type=float, help=f"One-Euro {what} (default: "
                           "tfpose.inference.tracking.SmoothingSettings)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_predict)

    from tfpose.codecs.bottomup_protocol import PROTOCOLS

    p = sub.add_parser("evaluate", help="score a .keras or .tflite model on a dataset's "
                       "validation split (COCO AP, CrowdPose AP, MPII PCKh, synthetic PCK)")
    p.add_argument("--model", type=Path, required=True, help=".keras or .tflite model")
    p.add_argument("--dataset", choices=DATASETS, default="synthetic")
    p.add_argument("--data-root", type=Path, help="dataset folder (tfpose.data.layouts)")
    p.add_argument("--boxes", type=Path, help="top-down: detector boxes (COCO detection json) "
                   "instead of ground-truth boxes")
    p.add_argument("--no-flip-test", action="store_true", help="without the flip test")
    p.add_argument("--protocol", choices=PROTOCOLS,
                   help="bottom-up models: 'authors' (default): LitePose's / HigherHRNet's test "
                   "protocol (short side to the input size, long side to a multiple of 64; "
                   "grouping at the input resolution, NMS 5, threshold 0.1), so the AP stands "
                   "beside the paper's; 'tfpose': the faster one training validates with "
                   "(image fitted into the fixed input, grouping at stride 2). A .tflite "
                   "keeps its fixed input under both")
    p.add_argument("--scales", type=float, nargs="+", metavar="S",
                   help="bottom-up, authors' protocol: test scales, e.g. 0.5 1 2 (heatmaps "
                   "averaged, tags of scale 1; .keras models only; default: 1)")
    p.add_argument("--max-images", type=int, help="only the first N validation images")
    p.add_argument("--threads", type=int, default=1, help=".tflite interpreter threads")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("benchmark", help="host latency of .tflite files, interleaved in one "
                       "process (any .tflite, ours or a peer's)")
    p.add_argument("models", nargs="+", type=Path, help=".tflite files")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=20, help="timed runs per model")
    p.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    p.add_argument("--profile", action="store_true",
                   help="also time every op (each cut into a model of its own; "
                   "tfpose.op_profile): ms per op type and share, the ten slowest ops, binary "
                   "vs float ops; --json rows gain profile and profile_detail")
    p.add_argument("--json", action="store_true",
                   help="a list of {model, median_ms, min_ms, max_ms, size_bytes, macs, ...}")
    p.set_defaults(func=cmd_benchmark)
