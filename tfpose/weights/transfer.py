"""Put a recognised checkpoint's tensors into a Keras model, each in exactly one weight.

Every weight-bearing layer of the model asks its key map (:mod:`tfpose.weights.keymaps`) for its
reference module and takes that module's tensors, converted from PyTorch's layouts:

* ``Conv2D``: ``weight`` ``[out, in, kh, kw]`` -> kernel ``[kh, kw, in, out]``; ``bias``;
* ``Conv2DTranspose``: ``weight`` ``[in, out, kh, kw]`` -> kernel ``[kh, kw, out, in]`` (both
  frameworks apply the kernel unflipped; ``tests/layers/test_mobile_blocks.py`` checks it);
* ``DepthwiseConv2D``: ``weight`` ``[C, 1, kh, kw]`` -> kernel ``[kh, kw, C, 1]``;
* ``BatchNormalization``: ``weight``, ``bias``, ``running_mean``, ``running_var`` -> gamma,
  beta, moving mean, moving variance (``num_batches_tracked``, a counter, is read and dropped).

Nothing is assigned until the whole plan checks out: a key the model needs and the checkpoint
lacks, a shape that differs, or a checkpoint key that lands nowhere (beyond the prefixes the
layout leaves on purpose) raises :class:`WeightsMismatch` naming the key and both shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from tfpose.errors import DataError
from tfpose.weights.keymaps import KeyMap
from tfpose.weights.layouts import Layout

layers = tf.keras.layers
BN_TENSORS = ("weight", "bias", "running_mean", "running_var")
KERNEL_FROM_TORCH = {layers.Conv2D: (2, 3, 1, 0), layers.Conv2DTranspose: (2, 3, 1, 0),
                     layers.DepthwiseConv2D: (2, 3, 0, 1)}
KERNEL_TO_TORCH = {kind: tuple(int(i) for i in np.argsort(order))
                   for kind, order in KERNEL_FROM_TORCH.items()}


class WeightsMismatch(DataError):
    """The checkpoint does not fit the model (a key, a shape, or the architecture)."""


@dataclass
class FillReport:
    """What a fill did: layers filled and left as initialised, tensors read, keys left on
    purpose (per prefix)."""

    filled: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    tensors: int = 0
    unused: dict[str, int] = field(default_factory=dict)


def fill_model(model: tf.keras.Model, state: dict[str, np.ndarray], keymap: KeyMap,
               layout: Layout, source) -> FillReport:
    """Assign ``state`` (reference names, see :func:`~tfpose.weights.layouts.recognise`) to
    ``model``'s weights; raises :class:`WeightsMismatch` (naming ``source``) and assigns
    nothing when it does not fit."""
    report, plan, used = FillReport(), [], set()
    for layer in model.layers:
        if not layer.weights:
            continue
        target = keymap.target(layer.name)
        if target is None and layout.whole:
            raise WeightsMismatch(source, f"layer {layer.name} of {model.name} has no "
                                  f"counterpart in {layout.source}")
        if target is None or (target.head and not layout.whole):
            report.left.append(layer.name)
            continue
        values = []
        for key, expected, transpose in _tensors(layer, target.prefix):
            if key not in state:
                raise WeightsMismatch(source, f"key {key} {expected} is missing: {model.name} "
                                      f"needs it for layer {layer.name}")
            values.append(_to_keras(key, state[key], expected, transpose, source, model.name,
                                    layer.name))
            used.add(key)
        used.add(f"{target.prefix}.num_batches_tracked")
        plan.append((layer, values))
        report.filled.append(layer.name)
    _check_leftovers(state, used, layout, source, model.name, report)
    for layer, values in plan:
        layer.set_weights(values)
        report.tensors += len(values)
    return report


def _tensors(layer, prefix: str):
    """``(checkpoint key, expected shape in the checkpoint's layout, transpose to Keras or
    None)`` for each weight of ``layer``, in ``layer.get_weights()`` order."""
    if isinstance(layer, layers.BatchNormalization):
        if not (layer.scale and layer.center):
            raise TypeError(f"{layer.name}: a BatchNormalization without scale and center")
        return [(f"{prefix}.{name}", tuple(w.shape), None)
                for w, name in zip(layer.get_weights(), BN_TENSORS, strict=True)]
    kind = _conv_kind(layer)
    kernel, *bias = layer.get_weights()
    in_torch_layout = tuple(kernel.shape[i] for i in KERNEL_TO_TORCH[kind])
    found = [(f"{prefix}.weight", in_torch_layout, KERNEL_FROM_TORCH[kind])]
    if bias:
        found.append((f"{prefix}.bias", tuple(bias[0].shape), None))
    return found


def _conv_kind(layer):
    # Conv2DTranspose and DepthwiseConv2D subclass Conv2D: the most specific first.
    for kind in (layers.Conv2DTranspose, layers.DepthwiseConv2D, layers.Conv2D):
        if isinstance(layer, kind):
            return kind
    raise TypeError(f"{layer.name}: no PyTorch counterpart for a {type(layer).__name__}")


def _to_keras(key, value, expected, transpose, source, model_name, layer_name) -> np.ndarray:
    if tuple(value.shape) != expected:
        raise WeightsMismatch(source, f"key {key} has shape {tuple(value.shape)}, {model_name} "
                              f"needs {expected} (layer {layer_name})")
    value = np.asarray(value, dtype=np.float32)
    return value if transpose is None else np.transpose(value, transpose)


def _check_leftovers(state, used, layout, source, model_name, report: FillReport) -> None:
    leftover = []
    for key in state:
        if key in used:
            continue
        prefix = next((p for p in layout.unused if key.startswith(p)), None)
        if prefix is None:
            leftover.append(key)
        else:
            report.unused[prefix] = report.unused.get(prefix, 0) + 1
    if leftover:
        more = f" and {len(leftover) - 1} more keys" if len(leftover) > 1 else ""
        raise WeightsMismatch(source, f"key {leftover[0]} {tuple(state[leftover[0]].shape)}"
                              f"{more} of {layout.source} land in no weight of {model_name}")


def reverse_input_channels(state: dict, first_conv: str) -> dict:
    """``state`` with the first conv reading its input channels in reverse order: a network
    trained on BGR images then reads RGB ones (its normalisation reversed too, see
    :meth:`~tfpose.weights.layouts.InputConvention.for_rgb_input`)."""
    return {**state, first_conv: state[first_conv][:, ::-1].copy()}


ARCHITECTURE_KEYS = ("kernel_size", "strides", "padding", "dilation_rate", "depth_multiplier")


def copy_weights(source: tf.keras.Model, target: tf.keras.Model, path) -> FillReport:
    """Every weight of ``target`` from the layer of the same name in ``source`` (a tfpose model
    of the same architecture, e.g. saved by ``tfpose import-weights`` or a training run);
    raises :class:`WeightsMismatch` naming the layer when a name, a shape or a layer setting
    (stride, padding...) differs, or when ``source`` holds weights ``target`` has no place for,
    and assigns nothing then."""
    plan, report = [], FillReport()
    for layer in target.layers:
        if not layer.weights:
            continue
        try:
            found = source.get_layer(layer.name)
        except ValueError:
            raise WeightsMismatch(path, f"has no layer {layer.name}: it is not a {target.name} "
                                  f"model") from None
        _check_same_layer(found, layer, path)
        plan.append((layer, found.get_weights()))
        report.filled.append(layer.name)
    extra = [layer.name for layer in source.layers
             if layer.weights and layer.name not in report.filled]
    if extra:
        raise WeightsMismatch(path, f"layer {extra[0]} (and {len(extra) - 1} more) has no place "
                              f"in {target.name}")
    for layer, values in plan:
        layer.set_weights(values)
        report.tensors += len(values)
    return report


def _check_same_layer(found, layer, path) -> None:
    mine = [tuple(w.shape) for w in layer.weights]
    theirs = [tuple(w.shape) for w in found.weights]
    if type(found) is not type(layer) or mine != theirs:
        raise WeightsMismatch(path, f"layer {layer.name} is a {type(found).__name__} with "
                              f"weights {theirs}, the model needs a {type(layer).__name__} with "
                              f"{mine}")
    ours, its = layer.get_config(), found.get_config()
    for key in ARCHITECTURE_KEYS:
        if ours.get(key) != its.get(key):
            raise WeightsMismatch(path, f"layer {layer.name} has {key} {its.get(key)}, the "
                                  f"model {ours.get(key)}: it was built with other model "
                                  "options")
