"""Converted models into the Android demo's assets, each with what the app needs to run it.

    python -m tfpose.export.app_bundle runs/bihrnet/model_decoded.tflite lp_int8.tflite \
        --assets android_demo/build/assets

Each ``NAME.tflite`` is copied to ``ASSETS/models/NAME.tflite`` beside ``NAME.properties``
(``java.util.Properties``: the app reads it without a JSON or flatbuffer parser): its label,
kind, keypoint set, how its output decodes (``decoded`` keypoints in input pixels, ``gaussian``
heatmaps or ``sigmoid`` logits), whether it needs LCE's binary kernels and its pixel
``convention`` (:mod:`tfpose.codecs.geometry`: ``tfpose``, or ``msra`` for imported published
weights; model information from before conventions means ``tfpose``); a bottom-up model's
``grouping.*`` entries carry its codec's test-time grouping settings
(:class:`tfpose.codecs.grouping.GroupingConfig`, for the app's ``AssociativeGrouping``) and the
stride of the grouping grid. The facts come from the model information ``tfpose convert`` puts
in the file; a file without it, or with keypoints the app does not draw (it draws COCO's 17), is
refused with its name.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from tfpose.codecs.geometry import CONVENTIONS
from tfpose.codecs.model_info import read_tflite_info
from tfpose.errors import DataError
from tfpose.runtime.flatbuffer import op_histogram

APP_KEYPOINTS = "coco"


def app_properties(path: Path) -> str:
    """The ``.properties`` text of one converted model (module docstring)."""
    flatbuffer = path.read_bytes()
    info = read_tflite_info(flatbuffer, path)  # a DataError naming the file when unreadable
    if info is None:
        raise DataError(path, "no tfpose model information inside: convert it with "
                        "`tfpose convert` (or python convert/to_lce.py)")
    if info.keypoints != APP_KEYPOINTS:
        raise DataError(path, f"has {info.keypoints} keypoints; the demo draws "
                        f"{APP_KEYPOINTS}'s 17")
    if info.decoded:
        output = "decoded"
    elif info.kind == "topdown":
        output = info.codec["output"]
    else:
        output = "gaussian"  # bottom-up heatmaps are regressed
    convention = info.codec.get("convention", "tfpose")
    if convention not in CONVENTIONS:
        raise DataError(path, f"unknown pixel convention {convention!r} in its model "
                        f"information (the app knows {', '.join(CONVENTIONS)})")
    binary = any(name.startswith("Lce") for name in op_histogram(flatbuffer))
    label = f"{path.stem} ({'binary, LCE' if binary else info.kind})"
    lines = {"label": label, "kind": info.kind, "keypoints": info.keypoints, "output": output,
             "binary": str(binary).lower(), "model": info.model, "convention": convention}
    if info.kind == "bottomup":
        lines.update(_grouping(info, path))
    return "".join(f"{key}={_escape(value)}\n" for key, value in lines.items())


def _grouping(info, path: Path) -> dict[str, str]:
    """``grouping.*`` entries: the bottom-up codec's grouping settings, its joint order
    spelled out, and ``grouping.stride``, the grid's stride in input pixels."""
    try:
        codec = info.bottomup_codec()
        order = codec.grouping.order(info.keypoint_set)
    except (ValueError, TypeError, KeyError) as e:
        raise DataError(path, f"unreadable bottom-up codec in its model information: {e}") \
            from None
    config = codec.grouping
    entries = {"nms_kernel": config.nms_kernel, "max_candidates": config.max_candidates,
               "detection_threshold": float(config.detection_threshold),
               "tag_threshold": float(config.tag_threshold),
               "use_detection_value": str(config.use_detection_value).lower(),
               "refine": str(config.refine).lower(),
               "refine_within_tag_threshold": str(config.refine_within_tag_threshold).lower(),
               "adjust": config.adjust, "joint_order": ",".join(str(k) for k in order),
               "stride": codec.grouping_stride}
    return {f"grouping.{key}": str(value) for key, value in entries.items()}


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=")


def bundle(models: list[Path], assets: Path) -> list[Path]:
    """Copy every model with its properties under ``assets/models``; nothing is written unless
    every model is good."""
    texts = {model: app_properties(model) for model in models}
    folder = assets / "models"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for model, text in texts.items():
        shutil.copyfile(model, folder / model.name)
        (folder / model.name).with_suffix(".properties").write_text(text)
        written.append(folder / model.name)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path, help="converted .tflite files")
    parser.add_argument("--assets", type=Path, required=True, help="the APK's assets folder")
    args = parser.parse_args(argv)
    try:
        for model in args.models:
            if not model.is_file():
                raise DataError(model, "model file not found")
        for path in bundle(args.models, args.assets):
            print(path)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
