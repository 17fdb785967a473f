"""Keras building blocks: binary units and the blocks of each model family.

Importing this package registers tfpose's own Keras layers (``tfpose>RPReLU``,
``tfpose>LearnableBias``, ``tfpose>DepthToSpace``), so ``import tfpose`` is all
``tf.keras.models.load_model`` needs to read any tfpose model.
"""

from tfpose.layers import binary, common  # noqa: F401  (registers the custom layers)
