"""Loading any pose model file to run it: ``.keras`` (ours or imported) or ``.tflite`` (LCE's
or stock), with the information that says how to decode its outputs.

:func:`load_model_file` gives a :class:`LoadedModel`: a function from a batch of model inputs
(``[B, H, W, 3]`` float32 RGB 0-255) to raw outputs, plus the model's
:class:`~tfpose.codecs.model_info.ModelInfo` (read from the file, or guessed from its shapes with
a warning). ``.tflite`` files run in LCE's host interpreter
(:class:`tfpose.runtime.interpreter.LCEInterpreterRunner`: LCE's binary kernels with indirect
BGEMM, float ops under XNNPACK), which also runs stock TFLite files. :func:`as_runner` makes the
same kind of function from a Keras model in memory, for evaluation during training.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfpose.codecs.model_info import (
    ModelInfo,
    guess_from_shapes,
    guess_info,
    read_tflite_info,
)
from tfpose.errors import DataError
from tfpose.layers.binary import binary_layers
from tfpose.runtime.flatbuffer import io_details
from tfpose.runtime.interpreter import (
    LCEInterpreterRunner,
    LCEMissing,
    file_kernels,
    is_binary_file,
)
from tfpose.runtime.keras_files import load_keras_file

Runner = Callable[[np.ndarray], list]

def as_runner(model) -> Runner:
    """A function ``images [B, H, W, 3] float32 -> [outputs as numpy, one per stride]``.

    A Keras model runs in inference mode inside one traced function; any other callable (e.g. a
    wrapped ``.tflite`` interpreter) is called as it is and its outputs converted to numpy.
    """
    if isinstance(model, tf.keras.Model):
        # autograph=False: nothing to convert, and converting every layer is slow to trace.
        forward = tf.function(lambda images: model(images, training=False), autograph=False,
                              reduce_retracing=True)

        def run(images):
            return [o.numpy() for o in tf.nest.flatten(forward(tf.constant(images)))]
        return run
    if not callable(model):
        raise TypeError(f"model must be a Keras model or a callable images -> outputs, got "
                        f"{type(model).__name__}")
    return lambda images: [np.asarray(o, np.float32) for o in tf.nest.flatten(model(images))]


@dataclass
class LoadedModel:
    """A model file ready to run.

    Attributes:
      run: ``[B, H, W, 3]`` float32 inputs -> list of ``[B, ...]`` float32 outputs.
      info: how to decode the outputs.
      path: the file.
      format: ``"keras"`` or ``"tflite"``.
      binary: whether it has binary layers (LCE ops in a ``.tflite``).
      kernels: how it runs on this host, e.g. ``"Keras (TensorFlow)"``, ``"XNNPACK"``.
    """

    run: Callable[[np.ndarray], list]
    info: ModelInfo
    path: Path
    format: str
    binary: bool
    kernels: str


def load_model_file(path, *, threads: int = 1) -> LoadedModel:
    """Load a ``.keras`` or ``.tflite`` model (``threads``: interpreter threads, tflite only)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "model file not found")
    if path.suffix == ".tflite":
        return _load_tflite(path, threads)
    if path.suffix != ".keras":
        raise DataError(path, "expected a .keras model or a .tflite flatbuffer")
    model, info = load_keras_file(path)
    return LoadedModel(as_runner(model), info or guess_info(model, path), path, "keras",
                       bool(binary_layers(model)), "Keras (TensorFlow, host)")


def _load_tflite(path: Path, threads: int) -> LoadedModel:
    flatbuffer = path.read_bytes()
    info = read_tflite_info(flatbuffer, path)
    try:
        details = io_details(flatbuffer)
        binary = is_binary_file(flatbuffer)
    except Exception as e:  # flatbuffers raises plain errors on garbage
        raise DataError(path, f"not a readable .tflite flatbuffer ({type(e).__name__})") from None
    if info is None:
        shapes = [d["shape"][1:] for d in details["outputs"]]
        info = guess_from_shapes(details["inputs"][0]["shape"][1:3], shapes, path.stem, path)
    try:
        runner = LCEInterpreterRunner(flatbuffer, num_threads=threads)
    except LCEMissing as e:
        raise DataError(path, str(e)) from None
    except (RuntimeError, ValueError) as e:
        raise DataError(path, f"the interpreter cannot load it: {e}") from None

    def run(images):
        outputs = runner(images)
        return outputs if isinstance(outputs, list) else [outputs]

    kernels = f"{file_kernels(flatbuffer)}, {threads} thread(s)"
    return LoadedModel(run, info, path, "tflite", binary, kernels)
