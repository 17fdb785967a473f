""".keras model files: saved whole or not at all, with the model's information inside, and
loaded fast (with a one-line error naming a bad file).

The one owner of reading and writing ``.keras`` files: training checkpoints, the importer,
conversion, prediction and evaluation all go through :func:`save_model_atomically` and
:func:`load_keras_model`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import tensorflow as tf

import tfpose.layers  # noqa: F401  (registers the custom layers that saved models name)
from tfpose.codecs.model_info import ModelInfo, attach_to_keras, read_keras_info
from tfpose.errors import DataError
from tfpose.files import publish, temporary_beside


def save_model_atomically(model: tf.keras.Model, path, info=None) -> Path:
    """``model.save(path)`` (Keras format) through a temporary file renamed over ``path``;
    ``info`` (a :class:`tfpose.codecs.model_info.ModelInfo`) goes into the archive too."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keras picks the format by suffix, so the temporary name keeps ".keras".
    temp = temporary_beside(path, suffix=".keras")
    try:
        model.save(temp, overwrite=True)
        if info is not None:
            attach_to_keras(temp, info)
        publish(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    return path


def load_keras_model(path) -> tf.keras.Model:
    """Load a ``.keras`` model like ``tf.keras.models.load_model(path, compile=False)``, fast.

    Why not ``load_model`` itself: tf-keras reads the weights through h5py straight out of the
    zip archive, and on Python 3.11 every backward seek in a zip member re-reads it from the
    start, so loading is quadratic in the model size (HRNet-W32, 117 MB: 87 s; this function:
    11 s, same weights). Here the weights file is first copied out of the archive. Other
    formats (``.h5``, SavedModel folders) go to ``load_model``. Layers are rebuilt without
    AutoGraph, as :func:`tfpose.layers.common.model_builder` builds them.
    """
    path = Path(path)
    if path.suffix != ".keras":
        return tf.keras.models.load_model(path, compile=False)
    deserialize = tf.autograph.experimental.do_not_convert(
        tf.keras.saving.deserialize_keras_object)
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as folder:
        model = deserialize(json.loads(archive.read("config.json")))
        weights = Path(folder) / "model.weights.h5"
        with archive.open("model.weights.h5") as source, open(weights, "wb") as target:
            shutil.copyfileobj(source, target)
        model.load_weights(weights)
    return model


def load_keras_file(path, what: str = "model") -> tuple[tf.keras.Model, ModelInfo | None]:
    """The model of a ``.keras`` file and its tfpose information (None when it carries none); a
    missing or unloadable file is a :class:`~tfpose.errors.DataError` naming it and ``what`` it
    was meant to be."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, f"{what} file not found")
    try:
        model = load_keras_model(path)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as e:
        raise DataError(path, f"cannot load the {what}: {e}") from None
    return model, read_keras_info(path)
