"""Parameter and multiply-accumulate (MAC) counts of a Keras model, split binary / float.

``macs`` are the real multiply-accumulates of convolution (plain, depthwise, transposed) and
dense layers for one image (batch 1). A convolution counts as binary when both its inputs and its
kernel are quantised (a Larq layer with input and kernel quantizers). ``params`` counts trainable
parameters (the papers' PyTorch convention); ``params_all`` adds non-trainable ones (BatchNorm
moving statistics).

Papers count differently, so published "GFLOPs" are compared through :data:`MAC_CONVENTIONS`:

* ``hrnet``: the HRNet / SimpleBaseline code's counter. Every conv costs kernel size x *output*
  positions, so a stride-2 transposed conv counts 4x its real MACs; the unit is 1024^3
  (HRNet-W32 at 256x192: 7.645e9 real MACs = 7.12, published 7.1; SimpleBaseline-R50: 5.4e9
  real MACs but 8.99 counted this way, published 8.9).
* ``ptflops``: the ptflops counter LitePose reports with: like ``hrnet`` for convs, plus 2 per
  element for BatchNorm and 1 for ReLU / ReLU6, in units of 1e9.

``ops`` is the binary networks' usual single cost figure, **OPs = binary MACs / 64 + float
MACs**, as Bi-Real Net (Liu et al., ECCV 2018) and ReActNet (Liu et al., ECCV 2020) count it
(there: OPs = BOPs / 64 + FLOPs). The /64 is XNOR-Net's argument (Rastegari et al., 2016), which
Bi-Real Net follows: a 64-bit CPU does 64 binary operations in parallel (one XNOR and a popcount
over a 64-bit word) where it does one float multiply-accumulate. It is a convention, not a
measurement: host times of the binary and float ops are what ``tfpose lce-check`` and ``tfpose
benchmark --profile`` show. Both terms here are real MACs (the papers' BOPs and FLOPs).

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
    """Real MACs of one conv / dense layer at batch 1 (0 for other layers)."""
    layers = tf.keras.layers
    if isinstance(layer, layers.DepthwiseConv2D):  # not a Conv2D subclass in tf-keras
        return _spatial(layer.output_shape) * int(np.prod(layer.depthwise_kernel.shape))
    if not isinstance(layer, (layers.Conv2D, layers.Dense)):
        return 0
    kernel = layer.kernel.shape
    if isinstance(layer, layers.Conv2DTranspose):  # every input pixel scatters a full kernel
        return _spatial(layer.input_shape) * int(np.prod(kernel))
    if isinstance(layer, layers.Dense):
        return _spatial(layer.input_shape) * int(np.prod(kernel))
    return _spatial(layer.output_shape) * int(np.prod(kernel))  # [kh, kw, C_in / groups, C_out]


MAC_CONVENTIONS = {  # name -> (how it counts, unit of its "G" figures)
    "real": ("real multiply-accumulates of conv and dense layers", 1e9),
    "hrnet": ("HRNet/SimpleBaseline counter: transposed convs at output positions; G = 1024^3",
              1024**3),
    "ptflops": ("ptflops counter (LitePose): transposed convs at output positions, + BatchNorm "
                "2 and ReLU 1 per element; G = 1e9", 1e9),
}


def convention_macs(model: tf.keras.Model, convention: str = "real") -> int:
    """MACs of ``model`` counted the way ``convention`` (a :data:`MAC_CONVENTIONS` key) does."""
    if convention not in MAC_CONVENTIONS:
        raise ValueError(f"unknown MAC convention {convention!r}; known: "
                         f"{', '.join(MAC_CONVENTIONS)}")
    layers = tf.keras.layers
    total = 0
    for layer in model.layers:
        if convention != "real" and isinstance(layer, layers.Conv2DTranspose):
            total += _spatial(layer.output_shape) * int(np.prod(layer.kernel.shape))
        else:
            total += layer_macs(layer)
        if convention == "ptflops":
            per_element = next((n for kind, n in _PTFLOPS_PER_ELEMENT.items()
                                if isinstance(layer, kind)), 0)
            if per_element:
                total += per_element * int(np.prod(layer.output_shape[1:]))
    return total


_PTFLOPS_PER_ELEMENT = {tf.keras.layers.BatchNormalization: 2, tf.keras.layers.ReLU: 1}


BINARY_OPS_PER_FLOAT_OP = 64  # XNOR-Net / Bi-Real Net: one 64-bit word of XNOR + popcount


def ops_count(binary_macs: int, float_macs: int) -> int:
    """OPs = binary MACs / 64 + float MACs (Bi-Real Net, ReActNet), rounded to an integer."""
    return int(round(binary_macs / BINARY_OPS_PER_FLOAT_OP + float_macs))


def model_summary(model: tf.keras.Model, convention: str = "real") -> dict:
    """``{"params", "params_all", "macs", "binary_macs", "float_macs", "ops", "binary_share",
    "size_bytes_float32", "size_bytes_deployed", "mac_convention", "gmacs_convention"}``.

    ``ops`` = ``binary_macs / 64 + float_macs``, rounded (the Bi-Real Net / ReActNet count, module
    docstring): a binary MAC costs 1/64 of a float one, 64 of them fitting one 64-bit XNOR +
    popcount.

    ``gmacs_convention`` is the model's cost counted as ``convention`` counts it, in that
    convention's unit: the figure to hold against the paper's table.
    """
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
        "binary_macs": int(binary_macs),
        "float_macs": int(float_macs),
        "ops": ops_count(binary_macs, float_macs),
        "binary_share": float(binary_macs / macs) if macs else 0.0,
        "size_bytes_float32": 4 * params,
        "size_bytes_deployed": int(np.ceil(binary_weights / 8) + 4 * (trainable - binary_weights)),
        "mac_convention": convention,
        "gmacs_convention": round(convention_macs(model, convention)
                                  / MAC_CONVENTIONS[convention][1], 4),
    }
