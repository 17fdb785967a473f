"""Parameter and multiply-accumulate (MAC) counts of a Keras model, split binary / float.

MACs are those of convolution and dense layers for one image (batch 1), the convention of the
papers' "FLOPs" tables. A convolution counts as binary when both its inputs and its kernel are
quantised (a Larq layer with input and kernel quantizers).

``params`` counts trainable parameters (the papers' PyTorch convention); ``params_all`` adds
non-trainable ones (BatchNorm moving statistics). ``gmacs_1024`` is MACs / 1024^3: the HRNet and
SimpleBaseline code that produced their papers' "GFLOPs" tables divides by 1024^3, not 10^9
(HRNet-W32 at 256x192: 7.645e9 MACs = 7.12 "GFLOPs", the published 7.1).

``size_bytes_deployed`` estimates the converted flatbuffer's weights: 1 bit per binary kernel
weight, 4 bytes per other trainable parameter (BatchNorm folds into the preceding layer, so its
moving statistics add nothing). The real figure comes from the converted file (``lce-check``).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def is_binary(layer) -> bool:
    return (getattr(layer, "input_quantizer", None) is not None
            and getattr(layer, "kernel_quantizer", None) is not None)


def _spatial(shape) -> int:
    return int(np.prod(shape[1:-1])) if len(shape) > 2 else 1


def layer_macs(layer) -> int:
    """MACs of one conv / dense layer at batch 1 (0 for other layers)."""
    layers = tf.keras.layers
    if not isinstance(layer, (layers.Conv2D, layers.Dense)):
        return 0
    kernel = layer.kernel.shape
    if isinstance(layer, layers.Conv2DTranspose):  # every input pixel scatters a full kernel
        return _spatial(layer.input_shape) * int(np.prod(kernel))
    out_positions = _spatial(layer.output_shape)
    if isinstance(layer, layers.DepthwiseConv2D):  # kernel [kh, kw, C, multiplier]
        return out_positions * int(np.prod(kernel))
    if isinstance(layer, layers.Dense):
        return _spatial(layer.input_shape) * int(np.prod(kernel))
    return out_positions * int(np.prod(kernel))  # Conv2D kernel [kh, kw, C_in / groups, C_out]


def model_summary(model: tf.keras.Model) -> dict:
    """``{"params", "params_all", "macs", "gmacs_1024", "binary_macs", "float_macs",
    "binary_share", "size_bytes_float32", "size_bytes_deployed"}`` of ``model``."""
    binary_macs = float_macs = binary_weights = 0
    for layer in model.layers:
        macs = layer_macs(layer)
        if is_binary(layer):
            binary_macs += macs
            binary_weights += int(np.prod(layer.kernel.shape))
        else:
            float_macs += macs
    params = int(model.count_params())
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    macs = binary_macs + float_macs
    return {
        "params": trainable,
        "params_all": params,
        "macs": int(macs),
        "gmacs_1024": round(macs / 1024**3, 4),
        "binary_macs": int(binary_macs),
        "float_macs": int(float_macs),
        "binary_share": float(binary_macs / macs) if macs else 0.0,
        "size_bytes_float32": 4 * params,
        "size_bytes_deployed": int(np.ceil(binary_weights / 8) + 4 * (trainable - binary_weights)),
    }
