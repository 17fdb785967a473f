"""tfpose: efficient and binary human pose estimation in Keras, deployed with Larq Compute Engine.

Importing this package selects Keras 2 (``tf-keras``) for TensorFlow, because Larq and LCE are
Keras-2 code. That only works when it happens before TensorFlow is imported, so ``tfpose`` must be
imported first; a warning says so when TensorFlow came first with Keras 3.
"""

import os
import sys
import warnings

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# The GPU build of TensorFlow that larq-compute-engine depends on logs CUDA-plugin "errors" at
# start-up on CPU-only machines: noise for our users. Set TF_CPP_MIN_LOG_LEVEL yourself to see them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    warnings.warn(
        "TensorFlow was imported before tfpose without TF_USE_LEGACY_KERAS=1; "
        "larq layers need Keras 2. Import tfpose first or set TF_USE_LEGACY_KERAS=1.",
        stacklevel=2,
    )

__version__ = "0.1.0"
