"""The public Python API: build a model, convert it, load any pose model file and predict.

    import tfpose
    predictor = tfpose.load_model("litepose_xs.tflite")      # or a .keras file, ours or imported
    people = predictor.predict("photo.jpg")                   # or an RGB uint8 array
    for person in people:
        print(person.score, person.box, person.keypoints)     # [K, 3]: x, y, score in pixels

``tfpose.create_model(name, ...)`` builds an untrained zoo model (``tfpose.list_models()``) and
``tfpose.convert(...)`` writes a ``.tflite`` with its parity report; the ``tfpose`` commands are
built on these functions. In video, ``tfpose.VideoPoseTracker(predictor, smoothing=tfpose.
SmoothingSettings(), follow=True)`` gives people with track ids, frame by frame
(:mod:`tfpose.inference.video`). A top-down model takes person boxes from a detection file, or
from ``tfpose.load_person_boxes(path)`` (a bottom-up model or an SSD-style detector ``.tflite``,
:mod:`tfpose.inference.person_boxes`)::

    boxes = tfpose.load_person_boxes("litepose_xs.tflite")
    people = predictor.predict(image, *boxes(image))          # boxes and their scores
"""

from __future__ import annotations

import tensorflow as tf

from tfpose.export.job import convert_job
from tfpose.inference.person_boxes import load_person_boxes
from tfpose.inference.predictor import Person, PosePredictor
from tfpose.inference.tracking import SmoothingSettings, TrackedPerson
from tfpose.inference.video import VideoPoseTracker
from tfpose.models import zoo
from tfpose.runtime.loading import load_model_file

__all__ = ["Person", "PosePredictor", "SmoothingSettings", "TrackedPerson", "VideoPoseTracker",
           "convert", "create_model", "list_models", "load_model", "load_person_boxes"]


def load_model(path, *, threads: int = 1, flip_test: bool | None = None,
               decoder: str | None = None,
               batch_size: int = 16, protocol: str = "tfpose", scales=None) -> PosePredictor:
    """A predictor for a ``.keras`` or ``.tflite`` pose model file.

    Args:
      path: the model file: tfpose's own (it carries its codec and keypoints) or another
        (decoded as its shapes suggest, with a warning).
      threads: interpreter threads for ``.tflite`` files.
      flip_test: also run the mirrored image and average (slower, usually more accurate);
        default on under the authors' protocol, else off.
      decoder: top-down heatmap decoder (``argmax``, ``quarter``, ``dark``); default the
        model's.
      batch_size: person crops per model call (top-down models).
      protocol: bottom-up models: ``"tfpose"`` (the whole image letterboxed into the fixed
        input, grouping at stride 2: quick) or ``"authors"`` (LitePose's test protocol, as
        ``tfpose evaluate`` scores it: :mod:`tfpose.codecs.associative_embedding`).
      scales: bottom-up, ``"authors"`` protocol: test scales (e.g. ``(0.5, 1, 2)``).

    Raises :class:`tfpose.errors.DataError` naming the file when it is missing or unreadable.
    """
    return PosePredictor(load_model_file(path, threads=threads), flip_test=flip_test,
                         decoder=decoder, batch_size=batch_size, protocol=protocol,
                         scales=scales)


def create_model(name: str, *, input_size: tuple[int, int] | None = None,
                 num_keypoints: int | None = None, **options) -> tf.keras.Model:
    """The untrained zoo model ``name`` (:func:`list_models`) at ``input_size`` (H, W), with
    ``num_keypoints`` keypoints; ``options`` go to the model's own function (e.g. ``width``)."""
    return zoo.create(name, input_size=input_size, num_keypoints=num_keypoints, **options)


def list_models() -> list[str]:
    """The names :func:`create_model` accepts."""
    return zoo.list_models()


def convert(model: str | None = None, out=None, *, quantization: str = "fp32",
            with_decoder: bool = False, input_size: tuple[int, int] | None = None,
            data: str = "synthetic", data_root=None, images_dir=None,
            check_parity: bool = True, full_integer: bool = False) -> dict:
    """Convert a ``.keras`` file or a zoo name to ``.tflite`` (binary layers become LCE's
    binary convolutions) and check the file against the Keras model, as ``tfpose convert``.

    Args:
      model: a ``.keras`` path, an imported checkpoint, or a zoo name (converted with stand-in
        weights); None converts the default training run's model.
      out: the ``.tflite`` path (default beside the source); its report goes beside it as json.
      quantization: ``fp32``, ``fp16`` or ``int8`` (calibrated on ``data``).
      with_decoder: put the keypoint decoder in the graph (top-down models).
      input_size: the input size of a zoo model.
      data, data_root, images_dir: where parity and calibration images come from.
      check_parity: compare the file's outputs with the Keras model's (raises when they differ
        beyond the stated tolerance).
      full_integer: int8 throughout, even where a float op would be faster on phones.

    Returns the conversion report (ops, sizes, parity figures; also written as json).
    """
    return convert_job(model, out=out, input_size=input_size, quantization=quantization,
                       decoder=with_decoder, data=data, data_root=data_root,
                       images_dir=images_dir, check_parity=check_parity,
                       full_integer=full_integer)
