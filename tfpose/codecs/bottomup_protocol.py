"""Bottom-up test-time protocols: how a whole image meets a bottom-up model and how its outputs
are grouped (:class:`BottomUpProtocol`), and where one image meets the model under one
(:class:`ImageInputs`). :class:`tfpose.codecs.associative_embedding.BottomUpCodec` carries them out.

``tfpose`` fits the whole image into the model's fixed input; ``authors`` is LitePose's
``valid.py`` (HigherHRNet's ``tools/valid.py``): aligned inputs, optional test scales, grouping
at the input resolution with their test settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfpose.codecs import geometry
from tfpose.codecs.grouping import GroupingConfig, authors_grouping
from tfpose.keypoints import KeypointSet

PROTOCOLS = ("authors", "tfpose")
FITS = ("fixed", "aligned")


@dataclass(frozen=True)
class BottomUpProtocol:
    """How a bottom-up model meets a whole image at test time and how its outputs are grouped.

    Two are named (:func:`named_protocol`): ``tfpose`` (:func:`tfpose_protocol`: fast, the
    training scripts' validation and the predictor's default) and ``authors``
    (:func:`authors_protocol`: LitePose's / HigherHRNet's test protocol, ``tfpose evaluate``'s
    default for bottom-up models, so an AP can stand beside the paper's).

    Attributes:
      name: a label for reports.
      fit: ``"fixed"``: the whole image fitted into the codec's ``input_size``, centred, the
        rest padding (:func:`tfpose.codecs.geometry.whole_image_center_size`); ``"aligned"``:
        the short side resized to the input size and the long side to a multiple of 64, the
        aspect ratio kept (:func:`aligned_input_size`), so every image has its own input size.
      scales: test scales (``"aligned"`` only): the heatmaps of all scales are averaged on the
        grid of scale 1; the tags are those of scale 1 (of the only scale when there is one), as
        HigherHRNet's ``aggregate_results`` takes them.
      resize_via_finest: ``True``: every output is first resized to the finest output's
        resolution, the heatmaps averaged there, then heatmaps and tags are resized to the grid
        (HigherHRNet's ``get_multi_stage_outputs``: two bilinear steps for the stride-4
        output); ``False``: each output goes straight to the grid.
      grouping: grouping settings, grid stride included; None = the codec's own.
    """

    name: str = "tfpose"
    fit: str = "fixed"
    scales: tuple[float, ...] = (1.0,)
    resize_via_finest: bool = False
    grouping: GroupingConfig | None = None

    def __post_init__(self):
        if self.fit not in FITS:
            raise ValueError(f"fit must be one of {FITS}, got {self.fit!r}")
        scales = tuple(float(s) for s in self.scales)
        object.__setattr__(self, "scales", scales)
        if not scales or min(scales) <= 0 or len(set(scales)) != len(scales):
            raise ValueError(f"scales must be distinct positive numbers, got {scales}")
        if self.fit == "fixed" and scales != (1.0,):
            raise ValueError(f"scales {scales} need the aligned fit: a fixed input has one size")
        if len(scales) > 1 and 1.0 not in scales:
            raise ValueError(f"scales {scales} lack 1: with several scales the tags grouped "
                             "are those of scale 1 (HigherHRNet's aggregate_results)")

    @property
    def tag_scale(self) -> int:
        """Index in :attr:`scales` of the scale whose tags are grouped."""
        return self.scales.index(1.0) if 1.0 in self.scales else 0

    def describe(self) -> dict:
        """What a report should say about the protocol (json-ready)."""
        grouping = self.grouping
        return {"name": self.name, "fit": self.fit, "scales": list(self.scales),
                "resize_via_finest": self.resize_via_finest,
                "grouping": "the model's" if grouping is None else {
                    "stride": grouping.grouping_stride, "nms_kernel": grouping.nms_kernel,
                    "detection_threshold": grouping.detection_threshold,
                    "tag_threshold": grouping.tag_threshold, "adjust": grouping.adjust,
                    "refine": grouping.refine}}


def tfpose_protocol() -> BottomUpProtocol:
    """tfpose's fast protocol: the whole image fitted into the model's fixed input, outputs
    resized straight to the grid, the model's own grouping (default: the stride-2 grid)."""
    return BottomUpProtocol("tfpose")


def authors_protocol(keypoint_set: KeypointSet, scales=(1.0,)) -> BottomUpProtocol:
    """LitePose's test protocol (its ``valid.py``, HigherHRNet's ``tools/valid.py``): aligned
    inputs (``resize_align_multi_scale``), outputs resized via the finest output to the input
    resolution (``PROJECT2IMAGE``) and grouped there with their test settings
    (:func:`tfpose.codecs.grouping.authors_grouping`). Their flip test (``FLIP_TEST: True``)
    is the caller's ``flip_test``."""
    return BottomUpProtocol("authors", fit="aligned", scales=tuple(scales),
                            resize_via_finest=True, grouping=authors_grouping(keypoint_set))


def named_protocol(name: str, keypoint_set: KeypointSet, scales=None) -> BottomUpProtocol:
    """``"authors"`` or ``"tfpose"``; ``scales`` (None: 1 only) are for the authors' one."""
    if name == "authors":
        return authors_protocol(keypoint_set, (1.0,) if scales is None else scales)
    if name != "tfpose":
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {name!r}")
    if scales is not None and tuple(float(s) for s in scales) != (1.0,):
        raise ValueError("test scales are part of the authors' protocol (the tfpose protocol "
                         "runs the model's fixed input)")
    return tfpose_protocol()


def aligned_input_size(image_size, input_size: int, scale: float = 1.0,
                       min_scale: float = 1.0) -> tuple[int, int]:
    """``(H, W)`` of the model input for an ``(H, W)`` image at test ``scale``: HigherHRNet's
    rule (``get_multi_scale_size``, lib/utils/transforms.py; LitePose's valid.py calls it).

    At the smallest test scale, the short side becomes ``min_scale * input_size`` and the long
    side keeps the aspect ratio, each rounded up to a multiple of 64 from its whole pixels (so
    384.85 gives 384, not 448, as their ``(x + 63) // 64 * 64``); every other scale multiplies
    both by ``scale / min_scale`` and truncates. The sizes of all scales share one aspect ratio.
    """
    height, width = (int(v) for v in image_size)
    portrait = width < height
    short, long = (width, height) if portrait else (height, width)
    smallest = _multiple_of_64(min_scale * input_size)
    factor = scale / min_scale
    short_out = int(smallest * factor)
    long_out = int(_multiple_of_64(smallest / short * long) * factor)
    return (long_out, short_out) if portrait else (short_out, long_out)


def _multiple_of_64(x: float) -> int:
    """The multiple of 64 at or above the whole part of ``x``."""
    return -(-int(x) // 64) * 64


@dataclass(frozen=True)
class ImageInputs:
    """Where one image meets the model under a protocol (:meth:`BottomUpCodec.inputs_for`).

    Every scale sees the same box of the image: ``center`` and ``size`` (x, y) / (w, h) in
    image pixels, whose edges map onto the input's edges (:func:`tfpose.codecs.geometry.
    affine_matrix`) under the model's ``convention``. The scale-1 input, ``base_size`` (H, W),
    fixes the grouping grid.
    """

    image_size: tuple[int, int]
    center: tuple[float, float]
    size: tuple[float, float]
    base_size: tuple[int, int]
    sizes: tuple[tuple[int, int], ...]
    convention: str = "tfpose"

    def matrix(self, input_size) -> np.ndarray:
        """The ``[2, 3]`` image -> input affine for an input of ``input_size`` (H, W), under the
        model's pixel convention (:mod:`tfpose.codecs.geometry`)."""
        return geometry.affine_matrix(self.center, self.size, 0.0, input_size,
                                      convention=self.convention).numpy()

    def images(self, image) -> list[np.ndarray]:
        """The model input of every scale, ``[H_s, W_s, 3]`` float32 from an ``[H, W, 3]``
        image (:func:`tfpose.codecs.geometry.warp_image`: bilinear, 0 outside the image)."""
        return [geometry.warp_image(image, self.matrix(size), size).numpy()
                for size in self.sizes]
