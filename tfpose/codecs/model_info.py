"""What a saved pose model needs to be used: its kind, keypoints and codec, carried in the file.

A ``.keras`` model from tfpose holds a ``tfpose.json`` entry in its zip archive (Keras ignores
it); a ``.tflite`` from ``tfpose convert`` holds the same json as a TFLite metadata buffer named
``tfpose`` (an Android app reads it with the flatbuffer schema). With it, ``tfpose predict``,
``evaluate``, ``convert`` and the app decode a model's outputs exactly as training encoded its
targets, with no flags to repeat.

Fields (:class:`ModelInfo`):

* ``kind``: ``"topdown"`` (one person per crop; :class:`~tfpose.codecs.heatmap.HeatmapCodec`)
  or ``"bottomup"`` (whole images; :class:`~tfpose.codecs.associative_embedding.BottomUpCodec`);
* ``model``: the zoo name it was built from (information only);
* ``keypoints``: ``coco``, ``mpii`` or ``crowdpose`` (:data:`tfpose.keypoints.KEYPOINT_SETS`);
* ``codec``: the codec's constructor arguments;
* ``decoded``: the outputs are already keypoints (``convert --with-decoder``), see
  :mod:`tfpose.export.decoder`.

A model without the entry (saved by other code) gets :func:`guess_info`: the kind, keypoints
and heatmap size from its shapes, Gaussian outputs and sigma 2 (a guess that is logged).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import tensorflow as tf

from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.codecs.grouping import GroupingConfig
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.errors import DataError
from tfpose.files import publish, temporary_beside
from tfpose.keypoints import KEYPOINT_SETS, KeypointSet
from tfpose.models.presets import zoo_preset

log = logging.getLogger("tfpose")

ENTRY = "tfpose.json"  # member of the .keras zip archive
METADATA_NAME = "tfpose"  # name of the TFLite metadata buffer
KINDS = ("topdown", "bottomup")
_SETS_BY_KEYPOINT_COUNT = {s.num_keypoints: s for s in KEYPOINT_SETS.values()}


@dataclass(frozen=True)
class ModelInfo:
    """How to run and decode one pose model (module docstring)."""

    kind: str
    keypoints: str
    codec: dict
    model: str = ""
    decoded: bool = False
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.keypoints not in KEYPOINT_SETS:
            raise ValueError(f"keypoints must be one of {sorted(KEYPOINT_SETS)}, got "
                             f"{self.keypoints!r}")
        # The json form (lists, not tuples), so that a saved and a read info compare equal.
        object.__setattr__(self, "codec", json.loads(json.dumps(self.codec)))
        object.__setattr__(self, "extra", json.loads(json.dumps(self.extra)))

    @property
    def keypoint_set(self) -> KeypointSet:
        return KEYPOINT_SETS[self.keypoints]

    @property
    def input_size(self) -> tuple[int, int]:
        return tuple(self.codec["input_size"])

    def heatmap_codec(self) -> HeatmapCodec:
        if self.kind != "topdown":
            raise ValueError(f"a {self.kind} model has no top-down heatmap codec")
        return HeatmapCodec(**{**self.codec, "input_size": tuple(self.codec["input_size"]),
                               "heatmap_size": tuple(self.codec["heatmap_size"])})

    def bottomup_codec(self) -> BottomUpCodec:
        if self.kind != "bottomup":
            raise ValueError(f"a {self.kind} model has no bottom-up codec")
        codec = dict(self.codec)
        grouping = GroupingConfig(**{k: tuple(v) if isinstance(v, list) else v
                                     for k, v in codec.pop("grouping", {}).items()})
        return BottomUpCodec(**{**codec, "input_size": tuple(codec["input_size"]),
                                "strides": tuple(codec["strides"]), "grouping": grouping})

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source="model") -> ModelInfo:
        try:
            values = json.loads(text)
            return cls(**values)
        except (ValueError, TypeError) as e:
            raise DataError(source, f"unreadable tfpose model information: {e}") from None

    def replace(self, **changes) -> ModelInfo:
        return dataclasses.replace(self, **changes)


def topdown_info(codec: HeatmapCodec, keypoint_set: KeypointSet, model: str = "") -> ModelInfo:
    return ModelInfo("topdown", keypoint_set.name, dataclasses.asdict(codec), model)


def bottomup_info(codec: BottomUpCodec, keypoint_set: KeypointSet, model: str = "") -> ModelInfo:
    return ModelInfo("bottomup", keypoint_set.name, dataclasses.asdict(codec), model)


def zoo_info(model: tf.keras.Model, name: str, source="model") -> ModelInfo:
    """The information of ``model``, built from the zoo as ``name`` (at any input size): sizes
    from its shapes; what its outputs are ("gaussian" or "sigmoid" heatmaps, or "bottomup") and
    their sigma from the zoo model's preset (:func:`tfpose.models.presets.zoo_preset`)."""
    preset = zoo_preset(name)
    output, sigma = preset.output, preset.sigma
    height, width = (int(v) for v in model.input_shape[1:3])
    if output == "bottomup":
        shapes = [tuple(o.shape[1:]) for o in model.outputs]
        codec = BottomUpCodec(input_size=(height, width),
                              strides=tuple(height // shape[0] for shape in shapes),
                              sigma=sigma)
        return bottomup_info(codec, KEYPOINT_SETS[_keypoints_for(shapes[1][-1], source)],
                             model.name)
    h, w, k = model.output_shape[1:]
    codec = HeatmapCodec(input_size=(height, width), heatmap_size=(h, w), output=output,
                         sigma=sigma)
    return topdown_info(codec, KEYPOINT_SETS[_keypoints_for(k, source)], model.name)


def attach_to_keras(path, info: ModelInfo) -> Path:
    """Write ``info`` into the ``.keras`` archive at ``path``, replacing an older entry (the
    archive is rewritten through a temporary file then; callers that need the whole save to be
    atomic attach to their temporary file, as :func:`tfpose.runtime.keras_files.
    save_model_atomically` does)."""
    path = Path(path)
    with zipfile.ZipFile(path) as archive:
        members = archive.namelist()
        kept = {name: archive.read(name) for name in members if name != ENTRY}
    if ENTRY not in members:
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(ENTRY, info.to_json())
        return path
    temp = temporary_beside(path)
    try:
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in kept.items():
                archive.writestr(name, data)
            archive.writestr(ENTRY, info.to_json())
        publish(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)
    return path


def read_keras_info(path) -> ModelInfo | None:
    """The ``tfpose.json`` entry of a ``.keras`` archive, or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            if ENTRY not in archive.namelist():
                return None
            return ModelInfo.from_json(archive.read(ENTRY).decode("utf-8"), path)
    except zipfile.BadZipFile:
        raise DataError(path, "not a .keras model (not a zip archive)") from None


def attach_to_tflite(flatbuffer: bytes, info: ModelInfo) -> bytes:
    """``flatbuffer`` with ``info`` as its ``tfpose`` metadata buffer (replacing an older one)."""
    from tensorflow.lite.python import schema_py_generated as schema_fb
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    buffer = schema_fb.BufferT()
    buffer.data = list(info.to_json().encode("utf-8"))
    model.buffers.append(buffer)
    entry = schema_fb.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(model.buffers) - 1
    kept = [m for m in (model.metadata or []) if _text(m.name) != METADATA_NAME]
    model.metadata = [*kept, entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def read_tflite_info(flatbuffer: bytes, source="model") -> ModelInfo | None:
    """The ``tfpose`` metadata of a flatbuffer, or None."""
    from tensorflow.lite.python import schema_py_generated as schema_fb

    if bytes(flatbuffer[4:8]) != b"TFL3":  # the file identifier every TFLite converter writes
        raise DataError(source, "not a readable .tflite flatbuffer (no TFL3 file identifier)")
    try:
        model = schema_fb.Model.GetRootAsModel(flatbuffer, 0)
        for i in range(model.MetadataLength()):
            entry = model.Metadata(i)
            if _text(entry.Name()) == METADATA_NAME:
                data = model.Buffers(entry.Buffer()).DataAsNumpy()
                return ModelInfo.from_json(bytes(data).decode("utf-8"), source)
    except (IndexError, ValueError, TypeError, struct.error) as e:  # truncated or damaged
        raise DataError(source, f"not a readable .tflite flatbuffer: {e}") from None
    return None


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def guess_info(model: tf.keras.Model, source="model") -> ModelInfo:
    """Model information from a Keras model's shapes alone (module docstring)."""
    return guess_from_shapes(model.input_shape[1:3], [tuple(o.shape[1:]) for o in model.outputs],
                             model.name, source)


def guess_from_shapes(input_size, output_shapes, name: str = "", source="model") -> ModelInfo:
    """:func:`guess_info` from ``(H, W)`` and the outputs' ``(h, w, C)`` shapes."""
    height, width = (int(v) for v in input_size)
    shapes = [tuple(int(v) for v in shape) for shape in output_shapes]
    if len(shapes) == 1:
        h, w, k = shapes[0]
        keypoints = _keypoints_for(k, source)
        log.warning("%s carries no tfpose information: assuming a top-down model with Gaussian "
                    "heatmaps, sigma 2 (%s keypoints)", source, keypoints)
        codec = HeatmapCodec(input_size=(height, width), heatmap_size=(h, w))
        return topdown_info(codec, KEYPOINT_SETS[keypoints], name)
    k = shapes[1][-1]
    strides = tuple(height // s[0] for s in shapes)
    log.warning("%s carries no tfpose information: assuming a bottom-up model, sigma 2", source)
    codec = BottomUpCodec(input_size=(height, width), strides=strides)
    return bottomup_info(codec, KEYPOINT_SETS[_keypoints_for(k, source)], name)


def _keypoints_for(count: int, source) -> str:
    if count not in _SETS_BY_KEYPOINT_COUNT:
        raise DataError(source, f"predicts {count} keypoints, which matches none of "
                        f"{sorted(KEYPOINT_SETS)}")
    return _SETS_BY_KEYPOINT_COUNT[count].name
