"""Golden files: cases computed by this package that the Android demo's Java code must reproduce.

    python -m tfpose.export.golden android_demo/golden      # rewrite them (tests check they match)

The app re-implements, in plain Java, what runs between the camera and the model and between
the model and the screen: the crop of a frame into the model input (the library's one affine,
:func:`tfpose.inference.images.crop_box`, bilinear, zero fill), the heatmap decoder
(:class:`tfpose.codecs.heatmap.HeatmapCodec`, argmax and quarter, Gaussian and sigmoid outputs)
and the keypoint sets. Both test suites read the same files (``tests/export/test_golden.py``
regenerates them and compares; the JVM tests in ``android_demo/tests`` check the Java code
against them), so the two implementations cannot drift apart.

The format is plain text a Java ``Scanner`` reads without a library: ``#`` comment lines, then
sections, each a header line ``name d1 d2 ...`` (its shape) followed by ``d1 * d2 * ...``
whitespace-separated values in row-major order; a section named ``*_names`` holds words.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tfpose.codecs import geometry
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.inference.images import crop_box
from tfpose.keypoints import COCO_17, KEYPOINT_SETS

HEADER = ("# Produced by `python -m tfpose.export.golden` (tfpose/export/golden.py); do not edit.\n"
          "# Sections: a line `name d1 d2 ...`, then d1*d2*... values, row-major.\n")


def _section(name: str, values) -> str:
    if name.endswith("_names"):
        words = [str(v) for v in values]
        return f"{name} {len(words)}\n" + "\n".join(words) + "\n"
    array = np.asarray(values)
    shape = " ".join(str(d) for d in array.shape) or "1"
    if np.issubdtype(array.dtype, np.integer):
        body = " ".join(str(int(v)) for v in array.ravel())
    else:
        body = " ".join(f"{float(v):.9g}" for v in array.ravel())
    return f"{name} {shape}\n{body}\n"


def _document(comment: str, sections: dict) -> str:
    return HEADER + f"# {comment}\n" + "".join(_section(k, v) for k, v in sections.items())


def keypoint_sets() -> dict[str, str]:
    """``keypoints_<set>.txt``: names, flip index and skeleton edges of every keypoint set."""
    return {f"keypoints_{s.name}.txt": _document(
        f"keypoint set {s.name} (tfpose/keypoints.py)",
        {"keypoint_names": s.names, "flip_index": np.asarray(s.flip_index, np.int64),
         "skeleton": np.asarray(s.skeleton, np.int64)})
        for s in KEYPOINT_SETS.values()}


def preprocessing() -> dict[str, str]:
    """A camera-like frame cut into a model input, around the whole frame and around a box."""
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, size=(30, 40, 3), dtype=np.int64)  # H 30, W 40: landscape
    input_size = (32, 24)  # portrait model input: the whole-frame fit leaves bands
    cases = {}
    # the box reaches past the right edge: zero fill there too
    for name, box, padding in (("whole", None, 1.0), ("box", (31.0, 3.0, 11.0, 17.0), 1.25)):
        crop, matrix = crop_box(image.astype(np.uint8), input_size, box, padding)
        sections = {"image": image, "input_size": np.asarray(input_size, np.int64)}
        if box is not None:
            sections.update(box=np.asarray(box, np.float64), padding=np.asarray([padding]))
        sections.update(image_to_input=matrix, input=crop)
        cases[f"preprocess_{name}.txt"] = _document(
            f"crop_box(image, input_size, {'box, padding' if box else 'None'}): bilinear, "
            "zero outside the image; input is float RGB 0-255 [H, W, 3]", sections)
    return cases


def _heatmaps(codec: HeatmapCodec, rng) -> np.ndarray:
    """One person's Gaussian heatmaps plus noise, with two cases a decoder can get wrong: a peak
    on the border (no quarter shift there) and an empty map (all ties: argmax at 0, 0)."""
    h, w = codec.heatmap_size
    k = COCO_17.num_keypoints
    points = np.stack([rng.uniform(1, w - 2, k), rng.uniform(1, h - 2, k)], axis=-1)
    points[3] = (0.0, 5.2)  # on the left border
    maps = codec.encode(points[None].astype(np.float32), np.ones((1, k), bool))[0].numpy()[0]
    maps = maps * rng.uniform(0.3, 1.0, k) + rng.uniform(0, 0.02, maps.shape)
    maps[..., 5] = 0.0  # nothing found: every value ties, the first pixel wins
    return maps.astype(np.float32)


def decoding() -> dict[str, str]:
    """Raw outputs (Gaussian and sigmoid models) and what the codec decodes from them, in
    heatmap pixels and in the pixels of the frame they were cut from (whole-frame crop)."""
    rng = np.random.default_rng(11)
    frame_size = (30, 40)
    cases = {}
    for output in ("gaussian", "sigmoid"):
        codec = HeatmapCodec(input_size=(32, 24), heatmap_size=(16, 12), sigma=1.5,
                             output=output, decoder="quarter")
        maps = _heatmaps(codec, rng)
        raw = maps if output == "gaussian" else np.log(
            np.clip(maps, 1e-4, 1 - 1e-4) / (1 - np.clip(maps, 1e-4, 1 - 1e-4)))
        center, size = geometry.whole_image_center_size(frame_size, codec.input_size)
        sections = {"output_is_sigmoid": np.asarray([int(output == "sigmoid")], np.int64),
                    "input_size": np.asarray(codec.input_size, np.int64),
                    "frame_size": np.asarray(frame_size, np.int64), "raw": raw}
        for decoder in ("argmax", "quarter"):
            coords, scores = codec.decode(raw[None], decoder)
            image_xy, _ = codec.decode_to_image(raw[None], np.asarray(center)[None],
                                                np.asarray(size)[None], decoder)
            sections[f"{decoder}_heatmap_xy"] = coords[0]
            sections[f"{decoder}_frame_xy"] = image_xy[0]
            sections[f"{decoder}_score"] = scores[0]
        cases[f"decode_{output}.txt"] = _document(
            f"HeatmapCodec(output={output!r}).decode of raw [H, W, K]; frame_xy: the same "
            "keypoints in the frame the model input was cut from (whole frame, fitted)",
            sections)
    return cases


def golden_files() -> dict[str, str]:
    return {**keypoint_sets(), **preprocessing(), **decoding()}


def write(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in golden_files().items():
        (folder / name).write_text(text)
        written.append(folder / name)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, nargs="?", default=Path("android_demo/golden"))
    args = parser.parse_args(argv)
    for path in write(args.folder):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
