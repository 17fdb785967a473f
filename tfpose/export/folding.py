"""Exact rewrites of a trained binary model's weights before conversion: the same values from
fewer float ops.

On a phone LCE's binary convolutions are several times faster than float ones, so the float ops
around them set a binary network's latency (``tfpose benchmark --profile`` shows them op by op).

:func:`fold_rprelu_shifts`: an RPReLU computes ``PReLU(x - gamma) + zeta`` and in our binary
blocks its ``x`` is always a sum ``a + b + ...`` (a binary conv's BatchNorm plus a shortcut, the
branches of an exchange unit). When one summand comes from a layer that adds a per-channel
constant of its own and feeds nothing else, ``gamma`` moves into that constant:

* a BatchNorm: ``beta - gamma``;
* an RPReLU: ``zeta - gamma``;
* such a layer seen through a nearest or bilinear ``UpSampling2D`` (a constant stays constant)
  or a channel ``Concatenate`` (each input takes its slice of ``gamma``).

The RPReLU's ``gamma`` becomes 0 and the converter drops the subtraction (``x - 0``): one SUB
op fewer per RPReLU, and the model computes the same values (up to float rounding).
"""

from __future__ import annotations

import contextlib

import numpy as np
import tensorflow as tf

from tfpose.layers.binary import RPReLU

layers = tf.keras.layers


@contextlib.contextmanager
def rprelu_shifts_folded(model: tf.keras.Model):
    """``with rprelu_shifts_folded(model) as count:`` inside the block ``model`` has every
    foldable RPReLU shift folded (module docstring; ``count`` of them); its weights are put back
    on leaving. In place, because copying a model of 2,000 layers takes longer (41 s for
    BiHRNet-W32) than converting it."""
    saved = [weight.numpy() for weight in model.weights]
    try:
        yield fold_rprelu_shifts(model)
    finally:
        for weight, value in zip(model.weights, saved, strict=True):
            weight.assign(value)


def fold_rprelu_shifts(model: tf.keras.Model) -> int:
    """Fold every foldable RPReLU shift of ``model`` in place (module docstring); returns how
    many were folded."""
    outputs = {id(tensor) for tensor in model.outputs}
    count = 0
    for layer in model.layers:
        if not isinstance(layer, RPReLU):
            continue
        gamma = layer.shift_in.numpy()
        total = _producers(layer)
        if not gamma.any() or len(total) != 1 or not isinstance(total[0], layers.Add) or \
                _readers(total[0], outputs) != 1:
            continue
        for summand in _producers(total[0]):
            targets = _offsets(summand, 0, len(gamma), outputs)
            if targets:
                for variable, start, stop in targets:
                    variable.assign(variable.numpy() - gamma[start:stop])
                layer.shift_in.assign(np.zeros_like(gamma))
                count += 1
                break
    return count


def _producers(layer) -> list:
    inbound = layer.inbound_nodes[0].inbound_layers
    return list(inbound) if isinstance(inbound, list | tuple) else [inbound]


def _readers(layer, outputs: set[int]) -> int:
    """How many layers read ``layer``'s output, plus one if it is also a model output."""
    return len(layer.outbound_nodes) + (id(layer.output) in outputs)


def _offsets(layer, start: int, stop: int, outputs: set[int]) -> list | None:
    """``[(variable, start, stop), ...]``: the per-channel constants of ``layer``'s output for
    channels ``start:stop`` of the sum, or None when there is no such constant or the output
    also feeds something else (another layer, or the model's outputs)."""
    if _readers(layer, outputs) != 1:
        return None
    if isinstance(layer, layers.BatchNormalization) and layer.center and layer.axis in ([-1], [3]):
        return [(layer.beta, start, stop)]
    if isinstance(layer, RPReLU):
        return [(layer.shift_out, start, stop)]
    if isinstance(layer, layers.UpSampling2D):
        return _offsets(_producers(layer)[0], start, stop, outputs)
    if isinstance(layer, layers.Concatenate) and layer.axis in (-1, 3):
        found, offset = [], start
        for source in _producers(layer):
            width = int(source.output.shape[-1])
            inner = _offsets(source, offset, offset + width, outputs)
            if inner is None:
                return None
            found += inner
            offset += width
        return found if offset == stop else None
    return None
