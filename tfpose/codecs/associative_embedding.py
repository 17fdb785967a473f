"""Bottom-up codec: multi-person heatmaps + associative-embedding tags (Newell et al., NeurIPS
2017; HigherHRNet / LitePose layout), the one owner of bottom-up targets and their decoding.

Layout (LitePose, HigherHRNet): the model sees a square-or-not ``input_size`` image and predicts
at several output strides, ``strides=(4, 2)`` by default. The first output (stride 4) carries
``K`` heatmaps followed by ``K * D`` tag maps (channel ``K + k * D + d``; ``D = 1`` in LitePose);
later outputs carry ``K`` heatmaps only.

Targets: every labelled keypoint of every person becomes the codec's unbiased Gaussian
(:meth:`tfpose.codecs.heatmap.HeatmapCodec.encode`, the same one top-down models use) at each
output resolution; persons are merged by taking the maximum. Input pixels map to output pixels
with the library's convention ``x_out = (x_in + 0.5) / stride - 0.5``
(:mod:`tfpose.codecs.geometry`). For the tag loss, ``joints[p, k] = (flat index y * W + x of the
rounded position on the tag map, 1 if labelled and on the map else 0)``.

Decoding (numpy + scipy on the host; HigherHRNet's test-time grouping, which LitePose uses):

1. Every output's heatmaps and the tag maps are resized bilinearly (half-pixel centres, i.e. the
   same convention) to one *grouping grid*, by default the finest output (stride 2; HigherHRNet
   and LitePose resize further, to the input, with ``PROJECT2IMAGE``: ``grouping_stride=1`` of
   :class:`tfpose.codecs.grouping.GroupingConfig`), and the heatmaps of all outputs are averaged.
2. Flip test: outputs of the mirrored input are mirrored back (``x -> W - 1 - x`` on any grid of
   the library) with left/right channels swapped; heatmaps are averaged, tags concatenated as
   extra tag dimensions (HigherHRNet; ``flip_tags="average"`` averages them instead).
3. Grouping, image by image on that grid: :func:`tfpose.codecs.grouping.group_keypoints` finds
   the peaks, matches them into persons by their tags (scipy's Hungarian assignment), scores the
   persons, fills in missing joints and takes a sub-pixel step (:mod:`tfpose.codecs.grouping`).
4. Grid pixels map to image pixels through the inverse of the whole-image affine
   (:func:`tfpose.codecs.geometry.whole_image_center_size`, :func:`~tfpose.codecs.geometry.
   affine_matrix`).

Test-time protocols (:class:`BottomUpProtocol`) say how an image meets the model and which of
these settings apply. ``tfpose`` (the default of :meth:`BottomUpCodec.decode`, training's
validation and the predictor): the whole image fitted into the fixed input, each output resized
straight to the stride-2 grid. ``authors`` (LitePose's ``valid.py`` = HigherHRNet's
``tools/valid.py``; ``tfpose evaluate``'s default): per image, the short side resized to the
input size and the long side to a multiple of 64 (:func:`aligned_input_size`), optionally at
several scales; at each scale the outputs are resized to the finest output and averaged there,
then heatmaps and tags are resized to the scale-1 input resolution (``PROJECT2IMAGE``), the
heatmaps averaged over the flip and the scales, the tags of scale 1 (and its flip) kept; then
grouping at stride 1 with their test settings (:func:`tfpose.codecs.grouping.authors_grouping`).
Either protocol runs under the codec's pixel ``convention``: tfpose's by default; imported
LitePose weights get ``"msra"``, HigherHRNet's own offsets (a whole-pixel image centre mapped
onto ``(W / 2, H / 2)``, ``+0.5`` in their adjust and refine steps) in steps 4 and the crop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
import tensorflow as tf

from tfpose.codecs import geometry
from tfpose.codecs.bottomup_protocol import (
    BottomUpProtocol,
    ImageInputs,
    aligned_input_size,
    tfpose_protocol,
)
from tfpose.codecs.grouping import GroupingConfig, group_keypoints
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.keypoints import COCO_17, KeypointSet


@dataclass(frozen=True)
class BottomUpCodec:
    """Encode all persons of an image into bottom-up targets and group predictions back.

    Args:
      input_size: model input ``(H, W)``; each must be divisible by every stride.
      strides: output strides, first = the output that carries the tags.
      sigma: Gaussian standard deviation in output pixels (2 at every resolution, as LitePose).
      max_people: persons kept per image for the tag loss (the rest still get heatmaps).
      grouping: test-time grouping settings (:class:`~tfpose.codecs.grouping.GroupingConfig`).
      convention: the pixel convention of the model's weights (:mod:`tfpose.codecs.geometry`):
        ``"tfpose"``, or ``"msra"`` for imported LitePose weights (HigherHRNet's test code: the
        image centre a whole pixel, the box centre on ``(W / 2, H / 2)`` of the input and of the
        grid, and half a pixel added to every joint its sub-pixel step places).
    """

    input_size: tuple[int, int] = (512, 512)
    strides: tuple[int, ...] = (4, 2)
    sigma: float = 2.0
    max_people: int = 30
    grouping: GroupingConfig = GroupingConfig()
    convention: str = "tfpose"

    def __post_init__(self):
        geometry.check_convention(self.convention)
        for stride in self.strides:
            if self.input_size[0] % stride or self.input_size[1] % stride:
                raise ValueError(f"input size {self.input_size} is not divisible by output "
                                 f"stride {stride}")
        if self.max_people < 1:
            raise ValueError(f"max_people must be >= 1, got {self.max_people}")
        g = self.grouping_stride
        if self.input_size[0] % g or self.input_size[1] % g:
            raise ValueError(f"input size {self.input_size} is not divisible by the grouping "
                             f"stride {g}")

    def output_size(self, stride: int) -> tuple[int, int]:
        return self.input_size[0] // stride, self.input_size[1] // stride

    def heatmap_codec(self, stride: int) -> HeatmapCodec:
        """The Gaussian codec of one output resolution (its decoders refine peaks too)."""
        return HeatmapCodec(input_size=self.input_size, heatmap_size=self.output_size(stride),
                            sigma=self.sigma)

    @property
    def grouping_stride(self) -> int:
        return self.grouping.grouping_stride or min(self.strides)

    @property
    def grid_size(self) -> tuple[int, int]:
        """``(H, W)`` of the grid the decoder groups on."""
        return self.output_size(self.grouping_stride)

    # ---- encode (TF) ---------------------------------------------------------------------
    def encode(self, keypoints):
        """Targets from ``[P, K, 3]`` keypoints (x, y, visibility) in *input* pixels.

        Persons with no labelled keypoint add nothing; ``P`` may be 0.
        Returns:
          ``{"heatmaps": [ [H/s, W/s, K] per stride ], "joints": [max_people, K, 2] int32}``.
        """
        keypoints = tf.convert_to_tensor(keypoints, tf.float32)
        labelled = keypoints[..., 2] > 0
        heatmaps, joints = [], None
        for i, stride in enumerate(self.strides):
            height, width = self.output_size(stride)
            points = (keypoints[..., :2] + 0.5) / stride - 0.5
            per_person, on_map = self.heatmap_codec(stride).encode(points, labelled)
            merged = tf.reduce_max(per_person, axis=0)  # P = 0 gives -inf ...
            merged = tf.maximum(merged, 0.0)  # ... which this turns into an empty map
            heatmaps.append(tf.ensure_shape(merged, (height, width, None)))
            if i == 0:
                joints = self._joints(points, on_map, width)
        return {"heatmaps": heatmaps, "joints": joints}

    def _joints(self, points, on_map, width):
        cells = tf.cast(tf.round(points), tf.int32)
        index = cells[..., 1] * width + cells[..., 0]
        joints = tf.stack([index, tf.cast(on_map, tf.int32)], axis=-1)
        joints = joints * tf.cast(on_map, tf.int32)[..., None]  # off-map: (0, 0)
        # Persons with a labelled keypoint on the map first, so truncation drops empty ones.
        has_joint = tf.reduce_any(on_map > 0, axis=-1)
        order = tf.argsort(tf.cast(~has_joint, tf.int32), stable=True)
        joints = tf.gather(joints, order)[: self.max_people]
        pad = self.max_people - tf.shape(joints)[0]
        return tf.pad(joints, [[0, pad], [0, 0], [0, 0]])

    # ---- decode (numpy) ------------------------------------------------------------------
    def following(self, protocol: BottomUpProtocol | None) -> BottomUpCodec:
        """This codec with ``protocol``'s grouping settings (None or no grouping: unchanged)."""
        if protocol is None or protocol.grouping is None:
            return self
        return replace(self, grouping=protocol.grouping)

    def inputs_for(self, image_size, protocol: BottomUpProtocol | None = None) -> ImageInputs:
        """The model inputs an ``(H, W)`` image gets under ``protocol`` (None: tfpose's).

        ``"fixed"``: one input of ``input_size``; ``"aligned"``: one per scale,
        :func:`aligned_input_size` with the short side of ``input_size`` (LitePose's inputs are
        square). A size the output strides do not divide is a ValueError naming the scale.
        """
        protocol = protocol or tfpose_protocol()
        image_size = tuple(int(v) for v in image_size)
        if protocol.fit == "fixed":
            base, sizes = self.input_size, (self.input_size,)
        else:
            short, low = min(self.input_size), min(protocol.scales)
            base = aligned_input_size(image_size, short, 1.0, low)
            sizes = tuple(aligned_input_size(image_size, short, s, low) for s in protocol.scales)
        for scale, size in ((1.0, base), *zip(protocol.scales, sizes, strict=True)):
            try:
                self.following(protocol).at_input_size(size)
            except ValueError as e:
                raise ValueError(f"test scale {scale:g} gives a {size[0]}x{size[1]} input for "
                                 f"a {image_size[0]}x{image_size[1]} image: {e}") from None
        center, size = geometry.whole_image_center_size(image_size, base, self.convention)
        return ImageInputs(image_size, tuple(float(v) for v in center.numpy()),
                           tuple(float(v) for v in size.numpy()), tuple(base), sizes,
                           self.convention)

    def at_input_size(self, input_size) -> BottomUpCodec:
        """This codec for an input of ``input_size`` (H, W): same strides, sigma, grouping."""
        return replace(self, input_size=tuple(int(v) for v in input_size))

    def merge_outputs(self, outputs, flipped_outputs=None, keypoint_set: KeypointSet = COCO_17,
                      *, grid_size=None, via_finest: bool = False):
        """Heatmaps and tags of all outputs on the grouping grid (steps 1-2 of the module doc).

        Args:
          outputs: list, one ``[B, H/s, W/s, C]`` array per stride: ``K (1 + D)`` channels for
            the first, ``K`` for the others.
          flipped_outputs: the same for the horizontally mirrored input, or None.
          grid_size: ``(H, W)`` of the grid; None = :attr:`grid_size`.
          via_finest: resize through the finest output's resolution
            (:attr:`BottomUpProtocol.resize_via_finest`).
        Returns:
          heatmaps ``[B, Hg, Wg, K]`` and tags ``[B, Hg, Wg, K, L]`` float32 (``L = D``, or ``2 D``
          with the flip test's concatenated tags).
        """
        grid = tuple(grid_size or self.grid_size)
        if not via_finest:
            return self._merged(outputs, flipped_outputs, keypoint_set, grid)
        # HigherHRNet: the outputs meet at the finest output's resolution (the stride-4 one
        # resized there), heatmaps are averaged there, then heatmaps and tags go to the grid.
        # The flip is merged before that last resize, which is linear: the same maps as
        # resizing each before averaging (as they do), on a quarter of the pixels.
        finest = self.output_size(min(self.strides))
        heatmaps, tags = self._merged(outputs, flipped_outputs, keypoint_set, finest)
        resized = _resize(np.concatenate([heatmaps, tags.reshape(*tags.shape[:3], -1)], -1), grid)
        k = keypoint_set.num_keypoints
        return resized[..., :k], resized[..., k:].reshape(*resized.shape[:3], k, -1)

    def _merged(self, outputs, flipped_outputs, keypoint_set: KeypointSet, size):
        """:meth:`merge_outputs` with every output resized straight to ``size``."""
        k = keypoint_set.num_keypoints
        heatmaps, tags = self._on_grid(outputs, k, size)
        if flipped_outputs is None:
            return heatmaps, tags
        flip_heatmaps, flip_tags = self._on_grid(flipped_outputs, k, size)
        if flip_heatmaps.shape[0] != heatmaps.shape[0]:
            raise ValueError(f"flipped outputs have batch {flip_heatmaps.shape[0]}, outputs "
                             f"{heatmaps.shape[0]}")
        # Mirrored back after the resize: a bilinear resize with half-pixel centres commutes
        # with the mirror, so this equals mirroring at the output's own resolution first.
        swap = keypoint_set.flip_index
        heatmaps = 0.5 * (heatmaps + flip_heatmaps[:, :, ::-1][..., swap])
        flip_tags = flip_tags[:, :, ::-1][..., swap, :]
        if self.grouping.flip_tags == "concat":
            return heatmaps, np.concatenate([tags, flip_tags], axis=-1)
        return heatmaps, 0.5 * (tags + flip_tags)

    def decode(self, outputs, image_sizes, *, keypoint_set: KeypointSet = COCO_17,
               flipped_outputs=None, protocol: BottomUpProtocol | None = None):
        """Group raw model outputs into persons in image pixels.

        Args:
          outputs: model outputs, a list with one ``[B, H/s, W/s, C]`` array per stride.
          image_sizes: ``[B, 2]`` (height, width) of the original images, each fitted into
            ``input_size`` with :func:`tfpose.codecs.geometry.whole_image_center_size`.
          keypoint_set: the model's keypoints (flip pairs, matching order).
          flipped_outputs: flip test: the model's outputs for the mirrored inputs
            (``inputs[:, :, ::-1]``), or None.
          protocol: a protocol with the ``"fixed"`` fit (its merging and grouping); None =
            :func:`tfpose_protocol`. Aligned inputs differ per image: :meth:`decode_image`.
        Returns:
          one ``(keypoints [P, K, 3] (x, y, score), person_scores [P])`` pair per image, best
          score first; joints that were never found are ``(0, 0, 0)``.
        """
        protocol = protocol or tfpose_protocol()
        if protocol.fit != "fixed":
            raise ValueError("decode takes batches of fixed inputs; aligned inputs differ per "
                             "image: use decode_image")
        codec = self.following(protocol)
        heatmaps, tags = codec.merge_outputs(outputs, flipped_outputs, keypoint_set,
                                             via_finest=protocol.resize_via_finest)
        image_sizes = np.asarray(image_sizes, np.float32).reshape(-1, 2)
        if len(image_sizes) != len(heatmaps):
            raise ValueError(f"{len(image_sizes)} image sizes for a batch of {len(heatmaps)}")
        return [codec._group(heatmap, tag, image_size, keypoint_set)
                for heatmap, tag, image_size in zip(heatmaps, tags, image_sizes, strict=True)]

    def merge_scales(self, runs, inputs: ImageInputs, keypoint_set: KeypointSet = COCO_17,
                     protocol: BottomUpProtocol | None = None):
        """One image's heatmaps and tags on its grouping grid, from the outputs of every input
        of ``inputs`` (arguments as :meth:`decode_image`): per scale as :meth:`merge_outputs`
        onto the grid of the scale-1 input, heatmaps averaged over the scales, the tags of
        :attr:`BottomUpProtocol.tag_scale`.

        Returns:
          heatmaps ``[1, Hg, Wg, K]`` and tags ``[1, Hg, Wg, K, L]``.
        """
        protocol = protocol or tfpose_protocol()
        if len(runs) != len(inputs.sizes):
            raise ValueError(f"{len(runs)} runs for {len(inputs.sizes)} test inputs")
        base = self.following(protocol).at_input_size(inputs.base_size)
        heatmaps, tags = 0.0, None
        for i, (size, (outputs, flipped)) in enumerate(zip(inputs.sizes, runs, strict=True)):
            merged, merged_tags = base.at_input_size(size).merge_outputs(
                outputs, flipped, keypoint_set, grid_size=base.grid_size,
                via_finest=protocol.resize_via_finest)
            if merged.shape[0] != 1:
                raise ValueError(f"one image's outputs have batch 1, got {merged.shape[0]}")
            heatmaps = heatmaps + merged
            if i == protocol.tag_scale:
                tags = merged_tags
        return heatmaps / len(runs), tags

    def decode_image(self, runs, inputs: ImageInputs, *, keypoint_set: KeypointSet = COCO_17,
                     protocol: BottomUpProtocol | None = None):
        """Persons in one image from the model's outputs at every input of ``inputs``.

        Args:
          runs: one ``(outputs, flipped_outputs or None)`` pair per ``inputs.sizes`` (batch 1,
            the outputs of that scale's input and of its mirror).
          inputs: :meth:`inputs_for` the image under ``protocol``.
          keypoint_set: the model's keypoints.
          protocol: None = :func:`tfpose_protocol`.
        Returns:
          ``(keypoints [P, K, 3] (x, y, score) in image pixels, person_scores [P])``, as
          :meth:`decode` gives per image (which it equals under a fixed-fit protocol).
        """
        heatmaps, tags = self.merge_scales(runs, inputs, keypoint_set, protocol)
        base = self.following(protocol).at_input_size(inputs.base_size)
        return base._group(heatmaps[0], tags[0], inputs.image_size, keypoint_set)

    def _group(self, heatmaps, tags, image_size, keypoint_set: KeypointSet):
        """Step 3-4 for one image's ``[Hg, Wg, K]`` heatmaps and tags on the grid."""
        grid_sigma = self.sigma * min(self.strides) / self.grouping_stride
        poses, scores = group_keypoints(heatmaps, tags, self.grouping,
                                        self.grouping.order(keypoint_set), grid_sigma)
        return self.grid_to_image(poses, image_size), scores

    def decode_to_results(self, outputs, image_sizes, image_ids, *,
                          keypoint_set: KeypointSet = COCO_17, flipped_outputs=None,
                          protocol: BottomUpProtocol | None = None) -> list[dict]:
        """:meth:`decode` into the COCO results format, one dict per person:
        ``{"image_id", "category_id": 1, "keypoints": [x, y, score] * K, "score"}``."""
        decoded = self.decode(outputs, image_sizes, keypoint_set=keypoint_set,
                              flipped_outputs=flipped_outputs, protocol=protocol)
        return coco_results(image_ids, decoded)

    def grid_to_image(self, poses, image_size):
        """``[P, K, 3]`` grouping-grid ``(x, y, score)`` -> image pixels for an ``(H, W)`` image."""
        poses = np.asarray(poses, np.float32)
        if self.convention == "msra":  # HigherHRNet's adjust and refine add half a pixel
            poses = np.concatenate([poses[..., :2] + 0.5, poses[..., 2:]], -1)
        center, size = geometry.whole_image_center_size(image_size, self.input_size,
                                                        self.convention)
        to_grid = geometry.affine_matrix(center, size, 0.0, self.grid_size,
                                         convention=self.convention)
        to_image = geometry.invert_affine(to_grid)
        points = geometry.apply_affine(to_image, poses[..., :2].reshape(-1, 2)).numpy()
        image = np.concatenate([points.reshape(poses.shape[:-1] + (2,)), poses[..., 2:]], -1)
        return np.where(poses[..., 2:] > 0, image, 0.0).astype(np.float32)

    def _on_grid(self, outputs, num_keypoints: int, grid_size):
        """Averaged heatmaps ``[B, Hg, Wg, K]`` and tags ``[B, Hg, Wg, K, D]`` on the grid."""
        outputs = self._checked_outputs(outputs, num_keypoints)
        grid_h, grid_w = grid_size
        k = num_keypoints
        heatmaps = np.zeros((len(outputs[0]), grid_h, grid_w, k), np.float32)
        tags = None
        for i, output in enumerate(outputs):
            resized = _resize(output, (grid_h, grid_w))
            heatmaps += resized[..., :k]
            if i == 0:
                tags = resized[..., k:].reshape(*resized.shape[:3], k, -1)
        return heatmaps / len(outputs), tags

    def _checked_outputs(self, outputs, k: int) -> list[np.ndarray]:
        if isinstance(outputs, (np.ndarray, tf.Tensor)):
            outputs = [outputs]
        outputs = [np.asarray(o, np.float32) for o in outputs]
        if len(outputs) != len(self.strides):
            raise ValueError(f"expected {len(self.strides)} outputs (strides {self.strides}), "
                             f"got {len(outputs)}")
        for i, (output, stride) in enumerate(zip(outputs, self.strides, strict=True)):
            expected = (len(outputs[0]), *self.output_size(stride))
            if output.ndim != 4 or output.shape[:3] != expected:
                raise ValueError(f"output {i} has shape {output.shape}, expected "
                                 f"[{', '.join(map(str, expected))}, C] for stride {stride}")
            channels = output.shape[-1]
            if i == 0 and (channels <= k or channels % k):
                raise ValueError(f"output 0 has {channels} channels, expected {k} heatmaps + "
                                 f"{k} x D tag maps")
            if i > 0 and channels != k:
                raise ValueError(f"output {i} has {channels} channels, expected {k} heatmaps")
        return outputs


def coco_results(image_ids, decoded) -> list[dict]:
    """COCO results dicts from ``[B]`` image ids and :meth:`BottomUpCodec.decode`'s output."""
    image_ids = np.asarray(image_ids).reshape(-1)
    if len(image_ids) != len(decoded):
        raise ValueError(f"{len(image_ids)} image ids for a batch of {len(decoded)}")
    results = []
    for image_id, (keypoints, scores) in zip(image_ids, decoded, strict=True):
        for person, score in zip(keypoints, scores, strict=True):
            results.append({
                "image_id": int(image_id), "category_id": 1,
                "keypoints": [round(float(v), 3) for v in person.reshape(-1)],
                "score": float(score),
            })
    return results


def _resize(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of ``[B, H, W, C]`` with half-pixel centres (the library's convention)."""
    if maps.shape[1:3] == tuple(size):
        return maps
    resized = np.empty((len(maps), *size, maps.shape[-1]), np.float32)
    for image, out in zip(maps, resized, strict=True):
        for c in range(0, maps.shape[-1], 512):  # OpenCV resizes at most 512 channels at once
            channels = np.ascontiguousarray(image[..., c:c + 512], np.float32)
            out[..., c:c + 512] = cv2.resize(channels, (size[1], size[0]),
                                             interpolation=cv2.INTER_LINEAR).reshape(*size, -1)
    return resized
