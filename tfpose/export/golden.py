"""Golden files: cases computed by this package that the Android demo's Java code must reproduce.

    python -m tfpose.export.golden android_demo/golden      # rewrite them (tests check they match)

The app re-implements, in plain Java, what runs between the camera and the model and between
the model and the screen: the crop of a frame into the model input (the library's one affine,
:func:`tfpose.inference.images.crop_box`, bilinear, zero fill), the heatmap decoder
(:class:`tfpose.codecs.heatmap.HeatmapCodec`, argmax and quarter, Gaussian and sigmoid outputs),
both under each pixel convention (:mod:`tfpose.codecs.geometry`; ``*_msra`` files: that of
imported published weights), the keypoint sets, LitePose's associative-embedding grouping
(:func:`tfpose.codecs.grouping.group_keypoints`) and its grid back to the frame
(:meth:`tfpose.codecs.associative_embedding.BottomUpCodec.grid_to_image`, both conventions),
and the video tracker with its One-Euro
smoothing and next-frame crops (:class:`tfpose.inference.tracking.PoseTracker`). Both test
suites read the same files (``tests/export/test_golden.py`` regenerates them and compares; the
JVM tests in ``android_demo/tests`` check the Java code against them), so the two
implementations cannot drift apart.

The format is plain text a Java ``Scanner`` reads without a library: ``#`` comment lines, then
sections, each a header line ``name d1 d2 ...`` (its shape) followed by ``d1 * d2 * ...``
whitespace-separated values in row-major order; a section named ``*_names`` holds words.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

import numpy as np

from tfpose.codecs import geometry
from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.codecs.grouping import GroupingConfig, group_keypoints
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.inference.images import crop_box
from tfpose.inference.predictor import Person
from tfpose.inference.tracking import PoseTracker, SmoothingSettings
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
    """A camera-like frame cut into a model input, around the whole frame and around a box,
    under each pixel convention; and a bottom-up model's whole-frame input under ``"msra"``,
    whose centre is a whole pixel (a top-down crop of the whole frame keeps the fitted one)."""
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, size=(30, 40, 3), dtype=np.int64)  # H 30, W 40: landscape
    input_size = (32, 24)  # portrait model input: the whole-frame fit leaves bands
    person = (31.0, 3.0, 11.0, 17.0)  # it reaches past the right edge: zero fill there too
    cases = {}
    for name, box, padding, convention in (
            ("whole", None, 1.0, "tfpose"), ("box", person, 1.25, "tfpose"),
            ("whole_msra", None, 1.0, "msra"), ("box_msra", person, 1.25, "msra")):
        crop, matrix = crop_box(image.astype(np.uint8), input_size, box, padding, convention)
        sections = {"image": image, "input_size": np.asarray(input_size, np.int64),
                    "convention_names": [convention]}
        if box is not None:
            sections.update(box=np.asarray(box, np.float64), padding=np.asarray([padding]))
        sections.update(image_to_input=matrix, input=crop)
        cases[f"preprocess_{name}.txt"] = _document(
            f"crop_box(image, input_size, {'box, padding' if box else 'None'}, convention="
            f"{convention!r}): bilinear, zero outside the image; input is float RGB 0-255 "
            "[H, W, 3]", sections)
    codec = BottomUpCodec(input_size=input_size, strides=(4, 2), convention="msra")
    inputs = codec.inputs_for(image.shape[:2])
    cases["preprocess_bottomup_msra.txt"] = _document(
        "BottomUpCodec(input_size, convention='msra').inputs_for(image size): the whole image "
        "around HigherHRNet's whole-pixel centre; input is float RGB 0-255 [H, W, 3]",
        {"image": image, "input_size": np.asarray(input_size, np.int64),
         "convention_names": ["msra"], "image_to_input": inputs.matrix(input_size),
         "input": inputs.images(image.astype(np.uint8))[0]})
    return cases


def _heatmaps(codec: HeatmapCodec, rng) -> np.ndarray:
    """One person's Gaussian heatmaps plus noise, with two cases a decoder can get wrong: a peak
    on the border (no quarter shift there) and an empty map (all ties: argmax at 0, 0). Under
    ``"msra"`` three more: peaks one pixel from the left and from the top border (a quarter step
    under tfpose's convention, none under the MSRA one), and a map without a positive value
    (its peak inside; MSRA puts it at 0, 0)."""
    h, w = codec.heatmap_size
    k = COCO_17.num_keypoints
    points = np.stack([rng.uniform(1, w - 2, k), rng.uniform(1, h - 2, k)], axis=-1)
    points[3] = (0.0, 5.2)  # on the left border
    if codec.convention == "msra":
        points[6], points[8] = (1.3, 6.3), (7.4, 1.2)
    maps = codec.encode(points[None].astype(np.float32), np.ones((1, k), bool))[0].numpy()[0]
    maps = maps * rng.uniform(0.3, 1.0, k) + rng.uniform(0, 0.02, maps.shape)
    maps[..., 5] = 0.0  # nothing found: every value ties, the first pixel wins
    if codec.convention == "msra":
        maps[..., 7] -= 1.5
    return maps.astype(np.float32)


def decoding() -> dict[str, str]:
    """Raw outputs (Gaussian and sigmoid models; a Gaussian one under ``"msra"``) and what the
    codec decodes from them, in heatmap pixels and in the pixels of the frame they were cut from
    (a top-down whole-frame crop: the fitted centre under either convention, as
    :func:`tfpose.inference.images.crop_box`)."""
    rng = np.random.default_rng(11)
    frame_size = (30, 40)
    cases = {}
    for output, convention in (("gaussian", "tfpose"), ("sigmoid", "tfpose"),
                               ("gaussian", "msra")):
        codec = HeatmapCodec(input_size=(32, 24), heatmap_size=(16, 12), sigma=1.5,
                             output=output, decoder="quarter", convention=convention)
        maps = _heatmaps(codec, rng)
        raw = maps if output == "gaussian" else np.log(
            np.clip(maps, 1e-4, 1 - 1e-4) / (1 - np.clip(maps, 1e-4, 1 - 1e-4)))
        center, size = geometry.whole_image_center_size(frame_size, codec.input_size)
        sections = {"output_is_sigmoid": np.asarray([int(output == "sigmoid")], np.int64),
                    "convention_names": [convention],
                    "input_size": np.asarray(codec.input_size, np.int64),
                    "frame_size": np.asarray(frame_size, np.int64), "raw": raw}
        for decoder in ("argmax", "quarter"):
            coords, scores = codec.decode(raw[None], decoder)
            image_xy, _ = codec.decode_to_image(raw[None], np.asarray(center)[None],
                                                np.asarray(size)[None], decoder)
            sections[f"{decoder}_heatmap_xy"] = coords[0]
            sections[f"{decoder}_frame_xy"] = image_xy[0]
            sections[f"{decoder}_score"] = scores[0]
        name = output if convention == "tfpose" else convention
        cases[f"decode_{name}.txt"] = _document(
            f"HeatmapCodec(output={output!r}, convention={convention!r}).decode of raw "
            "[H, W, K]; frame_xy: the same keypoints in the frame the model input was cut from "
            "(whole frame, fitted)", sections)
    return cases


def bottomup_to_frame() -> dict[str, str]:
    """``bottomup_to_frame.txt``: grouped persons on a bottom-up model's grouping grid and
    :meth:`BottomUpCodec.grid_to_image` of them in the frame the whole-frame input was cut from,
    under each convention (``msra``: a whole-pixel frame centre, the box centre on ``(W / 2, H /
    2)`` and half a pixel added to every joint). An odd frame height; joints never found (value
    0) stay at (0, 0)."""
    rng = np.random.default_rng(13)
    frame_size, input_size = (31, 40), (32, 24)
    k = COCO_17.num_keypoints
    codecs = {c: BottomUpCodec(input_size=input_size, strides=(4, 2), convention=c)
              for c in ("tfpose", "msra")}
    grid_h, grid_w = codecs["tfpose"].grid_size
    poses = np.concatenate([rng.uniform(0, (grid_w - 1, grid_h - 1), (2, k, 2)),
                            rng.uniform(0.2, 1.0, (2, k, 1))], -1).astype(np.float32)
    poses[0, [4, 11], 2] = 0.0
    poses[1, 0] = 0.0
    sections = {"frame_size": np.asarray(frame_size, np.int64),
                "input_size": np.asarray(input_size, np.int64),
                "grid_size": np.asarray((grid_h, grid_w), np.int64), "poses": poses}
    for convention, codec in codecs.items():
        sections[f"{convention}_frame_poses"] = codec.grid_to_image(poses, frame_size)
    return {"bottomup_to_frame.txt": _document(
        "BottomUpCodec(input_size, strides=(4, 2), convention).grid_to_image(poses [P, K, 3] "
        "on the grid, frame_size) -> <convention>_frame_poses [P, K, 3]", sections)}


def tracking() -> dict[str, str]:
    """A made-up clip of 16 frames (uneven time steps) and what :class:`PoseTracker` makes of
    it, smoothing on, with the default settings and with others: A walks right to the image's
    edge, B walks left across A (the two overlap), stops and is gone for two frames, then comes
    back too unsure to start a track (it continues its own); C leaves for good after frame 5; D
    starts at frame 9 without a box (bottom-up style); E is too weak to start a track; nobody
    is seen in frame 11. Persons are listed in a shuffled order; everything given is float32.
    Per-frame lists are concatenated: ``person_counts`` splits ``keypoints``, ``scores``,
    ``has_box``, ``boxes``; ``tracked_counts`` the outputs (in input order; ``tracked_index``:
    the person's place in its frame); ``live_counts`` the track ids alive after the frame;
    ``next_box_counts`` the boxes of ``next_boxes`` (0: None, search the whole frame)."""
    standing = np.array([  # x, y per COCO keypoint in person heights, from the head's top
        (0.0, 0.08), (0.02, 0.06), (-0.02, 0.06), (0.045, 0.07), (-0.045, 0.07),
        (0.11, 0.2), (-0.11, 0.2), (0.14, 0.35), (-0.14, 0.35), (0.15, 0.48), (-0.15, 0.48),
        (0.08, 0.52), (-0.08, 0.52), (0.09, 0.73), (-0.09, 0.73), (0.09, 0.93), (-0.09, 0.93)])
    steps = (0.033, 0.034, 0.031, 0.05, 0.033, 0.029, 0.04, 0.033, 0.066, 0.031, 0.033, 0.036,
             0.033, 0.045, 0.028)
    times = (np.float32(2.0) + np.cumsum((0.0,) + steps)).astype(np.float32)
    image_size = (360, 480)
    # who: (frames seen, (centre x, head top, height) at s seconds into the clip, has a box)
    people = {
        "A": (set(range(16)) - {11}, lambda s: (350 + 200 * s, 120, 170), True),
        "B": (set(range(10)) | {12, 13, 14, 15},
              lambda s: (460 - 260 * min(s, 0.35) - 20 * max(s - 0.35, 0), 112 + 5 * s, 150),
              True),
        "C": (set(range(6)), lambda s: (80 + 60 * s, 130, 150), True),
        "D": (set(range(9, 16)) - {11}, lambda s: (60 + 40 * s, 200, 110), False),
        "E": ({3, 4, 13}, lambda s: (440, 20, 60), True),
    }
    rng = np.random.default_rng(17)
    frames = []
    for f in range(len(times)):
        persons = []
        for name, (seen, where, boxed) in people.items():
            if f not in seen:
                continue
            cx, top, height = where(float(times[f] - times[0]))
            xy = standing * height + (cx, top) + rng.normal(0, 1.5, standing.shape)
            scores = rng.uniform(0.55, 0.95, len(xy))
            scores[rng.integers(0, len(xy), 2)] = rng.uniform(0.02, 0.09, 2)  # not confident
            scores *= 0.3 if name == "E" else 0.45 if (name, f) == ("B", 12) else 1.0
            box = np.float32((cx - 0.25 * height, top - 0.05 * height, 0.5 * height,
                              1.05 * height))
            persons.append(Person(np.concatenate([xy, scores[:, None]], -1).astype(np.float32),
                                  float(np.float32(scores.mean())),
                                  tuple(float(v) for v in box) if boxed else None))
        frames.append([persons[i] for i in rng.permutation(len(persons))])

    given = {"times": times, "person_counts": np.asarray([len(p) for p in frames], np.int64),
             "keypoints": np.asarray([p.keypoints for ps in frames for p in ps]),
             "scores": np.asarray([p.score for ps in frames for p in ps]),
             "has_box": np.asarray([p.box is not None for ps in frames for p in ps], np.int64),
             "boxes": np.asarray([p.box or (0.0,) * 4 for ps in frames for p in ps])}
    next_defaults = inspect.signature(PoseTracker.next_boxes).parameters
    cases = {}
    # settings other than the defaults are dyadic fractions: exact in float32 too
    for name, smoothing, options, next_options in (
            ("tracking_clip_defaults.txt", SmoothingSettings(), {}, {}),
            ("tracking_clip.txt", SmoothingSettings(min_cutoff=0.75, beta=2.5, d_cutoff=1.5),
             {"match_oks": 0.25, "max_missed": 2, "min_start_score": 0.375},
             {"grow": 1.375, "min_score": 0.375})):
        tracker = PoseTracker(COCO_17, smoothing=smoothing, **options)
        out = {k: [] for k in ("tracked_counts", "track_ids", "tracked_index", "smoothed",
                               "shown_boxes", "age_hits_gap", "live_counts", "live_ids",
                               "next_box_counts", "next_boxes")}
        for t, persons in zip(times, frames, strict=True):
            tracked = tracker.update(persons, float(t))
            out["tracked_counts"].append(len(tracked))
            for person in tracked:
                out["track_ids"].append(person.track_id)
                out["tracked_index"].append(next(i for i, p in enumerate(persons)
                                                 if p is person.raw))
                out["smoothed"].append(person.person.keypoints)
                out["shown_boxes"].append(person.person.box)
                out["age_hits_gap"].append((person.age, person.hits, person.gap))
            out["live_counts"].append(len(tracker.track_ids))
            out["live_ids"] += tracker.track_ids
            boxes = tracker.next_boxes(image_size, **next_options) or []
            out["next_box_counts"].append(len(boxes))
            out["next_boxes"] += boxes
        settings = {
            "sigmas": np.asarray(COCO_17.sigmas, np.float64),
            "image_size": np.asarray(image_size, np.int64),
            "smoothing": np.asarray((smoothing.min_cutoff, smoothing.beta, smoothing.d_cutoff)),
            "tracker": np.asarray((tracker.match_oks, tracker.max_missed,
                                   tracker.min_start_score), np.float64),
            "next_boxes_options": np.asarray([next_options.get(k, next_defaults[k].default)
                                              for k in ("grow", "min_score")])}
        results = {k: np.asarray(v, np.float64 if k in ("smoothed", "shown_boxes", "next_boxes")
                                 else np.int64).reshape((-1,) + np.shape(v)[1:])
                   for k, v in out.items()}
        cases[name] = _document(
            "PoseTracker(COCO_17, smoothing, **tracker).update per frame, then next_boxes("
            "image_size, **next_boxes_options); tracker: match_oks, max_missed, "
            "min_start_score; next_boxes_options: grow, min_score (tfpose.export.golden.tracking"
            " says what the clip holds)", {**settings, **given, **results})
    return cases


def grouping() -> dict[str, str]:
    """Synthetic heatmaps and tags on a 24x32 grid (COCO's 17 joints) and the persons
    :func:`tfpose.codecs.grouping.group_keypoints` makes of them. A joint is a Gaussian (sigma
    1 px) cut at 2.5 px plus noise; its tag map holds the person's tag plus noise within 3 px and
    0 elsewhere (exact zeros keep the files small). ``grouping_1d_tags.txt``: four people, 1-D
    tags, a left wrist far from everyone in tag space (a one-joint person that refinement fills
    from others) and two equal maxima 2 px apart in one NMS window (only the later remains);
    default settings. ``grouping_2d_tags.txt``: five people with 2-D tags (as the flip test's
    concatenated ones), two of them 0.74 apart in tag space, one with weak wrists (below the
    detection threshold: refinement finds them) and no left ankle, one with its lower body only
    (it starts at a hip), a lone nose, a shoulder on a plateau (two equal pixels); default
    settings (``default_*``) and others (``other_*``: fewer candidates than people, plain
    distance cost, gated refinement, no sub-pixel step, joints in index order). Unequal peak
    values and costs: no result depends on how ties are broken."""
    figure = np.array([  # COCO joints of a person facing the camera in a [-1, 1] box
        (0.0, -0.9), (0.15, -0.95), (-0.15, -0.95), (0.3, -0.9), (-0.3, -0.9),
        (0.5, -0.55), (-0.5, -0.55), (0.65, -0.2), (-0.65, -0.2), (0.7, 0.1), (-0.7, 0.1),
        (0.35, 0.15), (-0.35, 0.15), (0.4, 0.55), (-0.4, 0.55), (0.45, 0.95), (-0.45, 0.95)])
    k = COCO_17.num_keypoints
    size = (24, 32)
    yy, xx = np.mgrid[0:size[0], 0:size[1]].astype(np.float64)

    def person(rng, center, scale, tag):
        points = center + figure * scale + rng.uniform(-0.4, 0.4, figure.shape)
        return [points, rng.uniform(0.4, 1.0, k), np.asarray(tag, np.float64)]

    def lone(joint, xy, height, tag):
        points, heights = np.zeros((k, 2)), np.zeros(k)
        points[joint], heights[joint] = xy, height
        return [points, heights, np.asarray(tag, np.float64)]

    def draw(rng, people):
        heat = np.zeros((*size, k))
        tags = np.zeros((*size, k, len(people[0][2])))
        nearest = np.full((*size, k), np.inf)
        for points, heights, tag in people:
            for j in np.flatnonzero(heights > 0):
                d2 = (xx - points[j, 0]) ** 2 + (yy - points[j, 1]) ** 2
                bump = heights[j] * np.exp(-d2 / 2.0) + rng.uniform(0, 0.01, size)
                heat[..., j] = np.maximum(heat[..., j], np.where(d2 <= 6.25, bump, 0.0))
                near = (d2 <= 9.0) & (d2 < nearest[..., j])
                nearest[..., j] = np.where(near, d2, nearest[..., j])
                noisy = tag + rng.normal(0, 0.03, (*size, len(tag)))
                tags[..., j, :] = np.where(near[..., None], noisy, tags[..., j, :])
        return heat.astype(np.float32), tags.astype(np.float32)

    def peak(heat, joint, columns):  # (y, x) of a joint's maximum within some columns
        y, x = np.unravel_index(np.argmax(heat[:, columns, joint]), heat[:, columns].shape[:2])
        return y, x + columns.start

    rng = np.random.default_rng(31)
    people = [person(rng, (4.5 + 7.5 * i, 12.0), (3.5, 10.0), [t])
              for i, t in enumerate((-2.5, -1.0, 1.4, 2.9))]
    people[0][0][15] = (3.0, 23.0)  # a left ankle on the bottom border
    heat1, tags1 = draw(rng, [*people, lone(9, (16.2, 2.3), 0.45, [6.0])])
    y, x = peak(heat1, 0, slice(8, 16))  # the second person's nose: a twin 2 px right
    heat1[y, x + 2, 0], heat1[y, x + 1, 0] = heat1[y, x, 0], 0.9 * heat1[y, x, 0]
    tags1[y, x + 1:x + 3, 0] = tags1[y, x, 0]

    rng = np.random.default_rng(37)
    people = [person(rng, (3.5 + 6.5 * i, 12.0), (3.0, 10.0), t)
              for i, t in enumerate(((-2.0, -1.8), (1.0, 1.2), (1.55, 1.7), (3.5, 3.0),
                                     (-0.5, 2.5)))]
    people[2][1][[9, 10]] = (0.07, 0.085)  # weak wrists
    people[2][1][15] = 0.0  # no left ankle at all
    people[3][1][:11] = 0.0  # lower body only
    heat2, tags2 = draw(rng, [*people, lone(0, (7.0, 19.0), 0.5, (6.0, -3.0))])
    y, x = peak(heat2, 5, slice(9, 16))  # the second person's left shoulder: a plateau
    heat2[y, x + 1, 5] = heat2[y, x, 5]

    other = GroupingConfig(nms_kernel=3, max_candidates=4, detection_threshold=0.05,
                           use_detection_value=False, refine_within_tag_threshold=True,
                           adjust="none", joint_order=tuple(range(k)))
    cases = {}
    for name, heat, tags, configs in (
            ("grouping_1d_tags.txt", heat1, tags1, {"default": GroupingConfig()}),
            ("grouping_2d_tags.txt", heat2, tags2,
             {"default": GroupingConfig(), "other": other})):
        sections = {"heatmaps": heat, "tags": tags}
        for prefix, config in configs.items():
            order = config.order(COCO_17)
            poses, scores = group_keypoints(heat, tags, config, order)
            sections.update({
                f"{prefix}_{field}": np.asarray([int(getattr(config, field))], np.int64)
                for field in ("nms_kernel", "max_candidates", "use_detection_value", "refine",
                              "refine_within_tag_threshold")})
            sections.update({
                f"{prefix}_detection_threshold": np.asarray([config.detection_threshold]),
                f"{prefix}_tag_threshold": np.asarray([config.tag_threshold]),
                f"{prefix}_adjust_names": [config.adjust],
                f"{prefix}_joint_order": np.asarray(order, np.int64),
                f"{prefix}_poses": poses, f"{prefix}_scores": scores})
        cases[name] = _document(
            "group_keypoints(heatmaps [H, W, K], tags [H, W, K, L], config, joint_order) -> "
            "poses [P, K, 3] (x, y, value in grid pixels), scores [P], per config prefix "
            "(tfpose.export.golden.grouping says what the scenes hold)", sections)
    return cases


def golden_files() -> dict[str, str]:
    return {**keypoint_sets(), **preprocessing(), **decoding(), **bottomup_to_frame(),
            **tracking(), **grouping()}


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
