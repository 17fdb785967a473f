"""Converted models into the Android demo's assets, each with what the app needs to run it.

    python -m tfpose.export.app_bundle runs/bihrnet/model_decoded.tflite lp_int8.tflite \
        --assets android_demo/build/assets

Each ``NAME.tflite`` is copied to ``ASSETS/models/NAME.tflite`` beside ``NAME.properties``
(``java.util.Properties``: the app reads it without a JSON or flatbuffer parser): its label,
kind, keypoint set, how its output decodes (``decoded`` keypoints in input pixels, ``gaussian``
heatmaps or ``sigmoid`` logits) and whether it needs LCE's binary kernels. The facts come from
the model information ``tfpose convert`` puts in the file; a file without it, or with keypoints
the app does not draw (it draws COCO's 17), is refused with its name.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

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
    binary = any(name.startswith("Lce") for name in op_histogram(flatbuffer))
    label = f"{path.stem} ({'binary, LCE' if binary else info.kind})"
    lines = {"label": label, "kind": info.kind, "keypoints": info.keypoints, "output": output,
             "binary": str(binary).lower(), "model": info.model}
    return "".join(f"{key}={_escape(value)}\n" for key, value in lines.items())


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
