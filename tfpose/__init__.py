"""tfpose: efficient and binary human pose estimation in Keras, deployed with Larq Compute Engine.

Importing this package selects Keras 2 (``tf-keras``) for TensorFlow, because Larq and LCE are
Keras-2 code. That only works when it happens before TensorFlow is imported, so ``tfpose`` must be
imported first; a warning says so when TensorFlow came first with Keras 3.

The public API (:mod:`tfpose.api`)::

    import tfpose
    predictor = tfpose.load_model("model.tflite")  # .keras or .tflite, ours or imported
    people = predictor.predict("photo.jpg")        # each: keypoints [K, 3], score, box

and ``tfpose.create_model(name, ...)``, ``tfpose.list_models()``, ``tfpose.convert(...)``.
"""

import os
import sys
import warnings

# Checked before the default below is set: TensorFlow fixes its Keras when it is imported.
_TENSORFLOW_CAME_FIRST = ("tensorflow" in sys.modules
                          and os.environ.get("TF_USE_LEGACY_KERAS") != "1")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# The GPU build of TensorFlow that larq-compute-engine depends on logs CUDA-plugin "errors" at
# start-up on CPU-only machines: noise for our users. Set TF_CPP_MIN_LOG_LEVEL yourself to see them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

if _TENSORFLOW_CAME_FIRST:
    warnings.warn(
        "TensorFlow was imported before tfpose without TF_USE_LEGACY_KERAS=1; "
        "larq layers need Keras 2. Import tfpose first or set TF_USE_LEGACY_KERAS=1.",
        stacklevel=2,
    )
else:
    # Registers tfpose's Keras layers, so that tf.keras.models.load_model reads any tfpose
    # model after `import tfpose` (this imports TensorFlow, with the environment above set).
    from tfpose import layers as _layers  # noqa: F401

_API = ("Person", "PosePredictor", "SmoothingSettings", "TrackedPerson", "VideoPoseTracker",
        "convert", "create_model", "list_models", "load_model", "load_person_boxes")
__all__ = [*_API, "__version__"]


def __getattr__(name: str):
    # The API (tfpose.api) loads on first use: `import tfpose` stays quick, and it must stay
    # the first import of a program (module docstring).
    if name in _API:
        from tfpose import api

        return getattr(api, name)
    raise AttributeError(f"module 'tfpose' has no attribute {name!r}")
