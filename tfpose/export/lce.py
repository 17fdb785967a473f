"""Conversion to Larq Compute Engine (LCE) flatbuffers, and checks that binary layers stay binary.

Rules for a larq layer to become an ``LceBconv2d`` op, each verified by converting with LCE 0.16
(tests/export/test_lce.py converts one layer per rule and compares with ``binarisable_problems``):

Blockers (the layer runs as float ``CONV_2D``/``DEPTHWISE_CONV_2D``/... instead):
  * only ``QuantConv2D`` binarises: ``QuantDepthwiseConv2D``, ``QuantSeparableConv2D``,
    ``QuantConv2DTranspose``, ``QuantConv1D`` and ``QuantDense`` never do;
  * input quantizer must be ``SteSign``, ``ApproxSign``, ``SwishSign`` or ``larq.math.sign``
    (not none, ``MagnitudeAwareSign``, ``SteHeaviside``, ``DoReFa``, ``tf.sign``);
  * kernel quantizer must be one of those or ``MagnitudeAwareSign`` (not ``SteTern``, ...);
  * ``data_format="channels_last"``; with ``groups > 1`` input channels per group a multiple of 32.
Not blockers (still ``LceBconv2d``): ``use_bias=True`` (fused), 'same-zero' padding
(``pad_values=0``), no ``WeightClip`` constraint (a training aid only), input channels 8/18/36,
output channels 7/12, strides, dilation, fused activations. 'Same-zero' padding costs an edge
correction and stops the next binary conv reading bit-packed output (an extra ``LceQuantize``):
``performance_notes`` reports it with the channel-multiple advice of the LCE docs.

Mapping ops back to layers: tensor names in the flatbuffer are MLIR locations cut to 50
characters, and the identical input quantizers of sibling layers merge into one tensor named after
one of them, so names are unreliable. Instead the filter of each ``LceBconv2d`` (the kernel sign,
bit-packed: bit set for -1, 32 input channels a little-endian word, ``[out, kh, kw, words]``) is
matched against each layer's kernel sign, up to a flip of whole output channels (LCE flips those
whose folded BatchNorm scale is negative when it writes bit-packed output). Layers with twin
kernels or unmatched ops fall back to the static rules, then to count, then to layer names as
complete path segments of the op's tensor names; what stays ambiguous is reported as such.
"""

from __future__ import annotations

import logging
import tempfile
from collections import defaultdict

import larq as lq
import numpy as np
import tensorflow as tf
from flatbuffers import flexbuffers
from tensorflow.lite.python import schema_py_generated as schema_fb

from tfpose.errors import TfposeError, first_line
from tfpose.layers.binary import binary_layers
from tfpose.runtime.flatbuffer import (
    op_histogram,
    op_name,
    operators,
    order_outputs_by_signature,
)
from tfpose.runtime.interpreter import NO_LCE

log = logging.getLogger("tfpose")

_INPUT_SIGNS = (lq.quantizers.SteSign, lq.quantizers.ApproxSign, lq.quantizers.SwishSign)
_KERNEL_SIGNS = (*_INPUT_SIGNS, lq.quantizers.MagnitudeAwareSign)


class ConversionError(TfposeError):
    """The LCE converter rejected a model (or its input shape cannot be converted)."""


def convert_to_lce(model: tf.keras.Model, *, target: str = "arm") -> bytes:
    """Converts a Keras model to an LCE flatbuffer with float32 input and output (batch 1)."""
    try:
        import larq_compute_engine as lce
    except ImportError:
        raise ConversionError(f"cannot convert model '{model.name}' with LCE: {NO_LCE}") \
            from None

    for tensor in model.inputs or []:
        if None in tuple(tensor.shape)[1:]:
            raise ConversionError(
                f"cannot convert model '{model.name}' to LCE: input '{tensor.name}' has shape "
                f"{tuple(tensor.shape)}; height and width must be fixed, e.g. Input((256, 192, 3))"
            )
    try:
        with tempfile.TemporaryDirectory() as saved_model_dir:
            save_inference_graph(model, saved_model_dir)
            flatbuffer = lce.convert_saved_model(
                saved_model_dir, inference_input_type=tf.float32,
                inference_output_type=tf.float32, target=target,
            )
    except Exception as exc:
        raise ConversionError(
            f"cannot convert model '{model.name}' to LCE: {first_line(exc)}"
        ) from exc
    return order_outputs_by_signature(flatbuffer)


def save_inference_graph(model: tf.keras.Model, directory: str) -> None:
    """Save only the batch-1 inference function and the variables it reads.

    ``lce.convert_keras_model`` saves the whole Keras model, re-tracing every layer and the
    straight-through estimators' gradients: minutes for BiHRNet-W32 (7 min here) against
    about half a minute for this graph, which holds everything the converter reads.
    """
    spec = [tf.TensorSpec((1, *t.shape[1:]), t.dtype, name=t.name.split(":")[0])
            for t in model.inputs]
    module = tf.Module()
    module.variables_to_save = list(model.variables)  # tracked without the Keras layers
    def forward(*inputs):
        outputs = model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        # Zero-padded keys: the converter orders outputs by name, this keeps the model's order.
        return {f"output_{i:03d}": out for i, out in enumerate(outputs)}

    forward = tf.autograph.experimental.do_not_convert(forward)
    module.forward = tf.function(forward, input_signature=spec, autograph=False)
    options = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
    tf.saved_model.save(module, directory, signatures=module.forward.get_concrete_function(),
                        options=options)


def _quantizer_name(quantizer) -> str:
    return getattr(quantizer, "__name__", type(quantizer).__name__)


def _is_sign(quantizer, accepted) -> bool:
    return quantizer is lq.math.sign or isinstance(quantizer, accepted)


def binarisable_problems(layer) -> list[str]:
    """Reasons (verified with LCE 0.16) why ``layer`` will not become an ``LceBconv2d``."""
    if not isinstance(layer, lq.layers.QuantConv2D):
        return [f"{type(layer).__name__} is never binarised by LCE (only QuantConv2D is)"]
    problems = []
    if layer.kernel_quantizer is None:
        problems.append("no kernel quantizer: the weights stay float")
    elif not _is_sign(layer.kernel_quantizer, _KERNEL_SIGNS):
        problems.append(f"kernel quantizer {_quantizer_name(layer.kernel_quantizer)} is not a "
                        "sign quantizer (ste_sign, approx_sign, swish_sign, magnitude_aware_sign)")
    if layer.input_quantizer is None:
        problems.append("no input quantizer: float activations make it a float CONV_2D")
    elif not _is_sign(layer.input_quantizer, _INPUT_SIGNS):
        problems.append(f"input quantizer {_quantizer_name(layer.input_quantizer)} is not "
                        "ste_sign, approx_sign, swish_sign or larq.math.sign")
    if layer.data_format != "channels_last":
        problems.append(f"data_format is {layer.data_format}; LCE binarises channels_last only")
    group_channels = layer.kernel.shape[-2] if layer.built else None
    if layer.groups > 1 and group_channels is not None and group_channels % 32:
        problems.append(f"groups={layer.groups} with {group_channels} input channels per group; "
                        "grouped binary convs need a multiple of 32 per group")
    return problems


def performance_notes(layer) -> list[str]:
    """Advice (from the LCE docs) for a QuantConv2D that binarises but could run faster."""
    if not isinstance(layer, lq.layers.QuantConv2D):
        return []
    notes = []
    if layer.padding == "same" and layer.pad_values != 1.0:
        notes.append(f"padding='same' with pad_values={layer.pad_values} needs an edge "
                     "correction and stops bit-packed output; use pad_values=1.0")
    if layer.built and layer.kernel.shape[-2] % 32:
        notes.append(f"{layer.kernel.shape[-2]} input channels are padded to a multiple of 32")
    if layer.filters % 8:
        notes.append(f"{layer.filters} output channels: LCE computes 8 at a time")
    return notes


def _sign_key(negative: np.ndarray) -> tuple:
    """Key of a binary kernel ``[out, kh, kw, in]`` (True = -1), blind to per-channel flips."""
    rows = negative.reshape(len(negative), -1)
    return negative.shape, np.packbits(rows ^ rows[:, :1], axis=-1).tobytes()


def _layer_key(layer) -> tuple:
    return _sign_key(np.moveaxis(layer.kernel.numpy() < 0, -1, 0))


def _bconv_ops(flatbuffer: bytes) -> list[tuple[tuple, set[str]]]:
    """(filter key, path segments of the tensor names) of every LceBconv2d op."""
    ops = []
    for model, graph, op, name in operators(flatbuffer):
        if name != "LceBconv2d":
            continue
        filt = graph.Tensors(op.Inputs(1))
        data = np.asarray(model.Buffers(filt.Buffer()).DataAsNumpy(), dtype=np.uint8)
        channels = flexbuffers.Loads(op.CustomOptionsAsNumpy().tobytes())["channels_in"]
        shape = tuple(filt.ShapeAsNumpy())
        key = None
        if data.size == 4 * np.prod(shape):  # else the weights live outside the flatbuffer
            bits = np.unpackbits(data, bitorder="little").reshape(shape[:3] + (-1,))
            key = _sign_key(bits[..., : min(channels, bits.shape[-1])].astype(bool))
        ids = [i for i in (*op.InputsAsNumpy(), *op.OutputsAsNumpy()) if i >= 0]
        names = [graph.Tensors(int(i)).Name().decode() for i in ids]
        ops.append((key, {seg for n in names for part in n.split(";") for seg in part.split("/")}))
    return ops


def _binarised(convs: dict[str, tf.keras.layers.Layer],
               ops: list) -> tuple[dict[str, tuple[int, str]], list[int]]:
    """Layers that became LceBconv2d ops, each with its op's position in ``ops`` and how it was
    tied ("kernel": the only op with its kernel; "name": its name is in the op's tensor names;
    "order": twin kernels or the static rules' left-overs, in order), and the positions of the
    ops left untied to a layer."""
    by_key = defaultdict(list)
    for path, layer in convs.items():
        by_key[_layer_key(layer)].append(path)
    tied, pool = {}, [i for i, op in enumerate(ops) if op[0] not in by_key]
    for key, paths in by_key.items():  # twin kernels: all binarised only if as many ops
        matching = [i for i, op in enumerate(ops) if op[0] == key]
        if len(matching) >= len(paths):
            tied.update({paths[0]: (matching[0], "kernel")} if len(paths) == 1
                        else _tie_in_order(paths, matching, convs, ops))
        else:
            pool += matching
    # Layers the verified static rules condemn stay float; the others share the left-over ops.
    clean = [p for p in sorted(set(convs) - set(tied)) if not binarisable_problems(convs[p])]
    if len(pool) >= len(clean):
        tied.update(_tie_in_order(clean, pool, convs, ops))
        used = {position for position, _ in tied.values()}
        return tied, [i for i in pool if i not in used]
    for path in clean:  # fewer ops than candidates: tie them by name (names may be cut short)
        hit = next((i for i in pool if convs[path].name in ops[i][1]), None)
        if hit is not None:
            pool.remove(hit)
            tied[path] = (hit, "name")
    return tied, pool


def _tie_in_order(paths: list[str], positions: list[int], convs, ops) -> dict:
    """Ties each of ``paths`` to one of ``positions`` (at least as many): by name, else in
    order."""
    free, tied = list(positions), {}
    for path in paths:
        hit = next((i for i in free if convs[path].name in ops[i][1]), None)
        if hit is not None:
            free.remove(hit)
            tied[path] = (hit, "name")
    for path in paths:
        if path not in tied:
            tied[path] = (free.pop(0), "order")
    return tied


_BITPACKED = schema_fb.TensorType.INT32  # LCE's bit-packed activations: 32 channels a word


def _bconv_facts(flatbuffer: bytes) -> list[dict]:
    """What each LceBconv2d op (in :func:`_bconv_ops`' order) does around its arithmetic.

    LCE 0.16's op reads ``[input, filter, post_activation_multiplier, post_activation_bias,
    thresholds]``. Writing float output, it carries the per-channel multiplier and bias (the
    folded BatchNorm, bias and kernel scale) and no thresholds; writing bit-packed output
    (int32, 32 channels a word, read only by binary ops), it carries thresholds (the same
    transform, then the next sign, folded into one comparison) and no multiplier or bias.
    A BatchNorm the converter could not fold stays as a float ``MUL`` by a constant (then an
    ``ADD``) reading the op's output, or the output of a ReLU it left unfused.
    """
    model = schema_fb.Model.GetRootAsModel(flatbuffer, 0)
    facts = []
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        names = [op_name(model, graph.Operators(i)) for i in range(graph.OperatorsLength())]
        readers = defaultdict(list)
        for i in range(graph.OperatorsLength()):
            for t in graph.Operators(i).InputsAsNumpy():
                readers[int(t)].append(i)

        for i, name in enumerate(names):
            if name != "LceBconv2d":
                continue
            op = graph.Operators(i)
            inputs = [int(t) for t in op.InputsAsNumpy()] + [-1] * 5
            out = int(op.Outputs(0))
            tensor = graph.Tensors(out)
            options = flexbuffers.Loads(op.CustomOptionsAsNumpy().tobytes())
            float_bn = _float_mul_reads(model, graph, names, readers, out)
            facts.append({
                "subgraph": s, "op_index": i, "op_output": tensor.Name().decode(),
                "bitpacked": tensor.Type() == _BITPACKED,
                "read_by": sorted({names[r] for r in readers[out]}),
                "transform": (inputs[2] >= 0 and inputs[3] >= 0) or inputs[4] >= 0,
                "float_bn": float_bn,
                "channels_in": int(options["channels_in"]),
                "channels_out": int(graph.Tensors(inputs[1]).Shape(0)),
            })
    return facts


# Float ops that pass a BatchNorm's input through unscaled: LCE leaves a ReLU it could not fuse
# (e.g. after XNOR-scaled weights) as its own op, and the float MUL then reads the ReLU.
_ACTIVATION_OPS = ("RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1")


def _float_mul_reads(model, graph, names: list[str], readers: dict, tensor: int) -> bool:
    """Whether a float ``MUL`` by a constant (a BatchNorm left unfolded) reads ``tensor``,
    directly or through activation ops."""
    for r in readers[tensor]:
        op = graph.Operators(r)
        if names[r] in _ACTIVATION_OPS:
            if _float_mul_reads(model, graph, names, readers, int(op.Outputs(0))):
                return True
        elif names[r] == "MUL" and any(_constant(model, graph, int(t))
                                       for t in op.InputsAsNumpy() if int(t) != tensor):
            return True
    return False


def _constant(model, graph, tensor: int) -> bool:
    return tensor >= 0 and model.Buffers(graph.Tensors(tensor).Buffer()).DataLength() > 0


_PASS_THROUGH = (tf.keras.layers.ReLU, tf.keras.layers.Activation)


def _batchnorm_follows(layer) -> bool:
    """Whether a Keras ``BatchNormalization`` reads ``layer``'s output, directly or through
    ReLU / activation layers (LCE folds conv -> ReLU -> BatchNorm into the op's output)."""
    frontier, seen = [layer], set()
    while frontier:
        current = frontier.pop()
        for node in getattr(current, "_outbound_nodes", []):
            following = node.outbound_layer
            if isinstance(following, tf.keras.layers.BatchNormalization):
                return True
            if isinstance(following, _PASS_THROUGH) and id(following) not in seen:
                seen.add(id(following))
                frontier.append(following)
    return False


def _conv_rows(convs: dict, tied: dict, facts: list[dict]) -> list[dict]:
    """One row per binarised conv, in the flatbuffer's op order (lce_report's ``convs``)."""
    rows = []  # (subgraph, op index, row)
    for path, (position, how) in tied.items():
        fact = facts[position]
        if fact["float_bn"]:
            bn_fused = False
        else:
            bn_fused = fact["transform"] if _batchnorm_follows(convs[path]) else None
        rows.append((fact["subgraph"], fact["op_index"], {
            "layer": path, "op_index": fact["op_index"], "op_output": fact["op_output"],
            "tied_by": how, "bn_fused": bn_fused,
            "output": "bitpacked" if fact["bitpacked"] else "float", "read_by": fact["read_by"],
            "channels_in": fact["channels_in"], "channels_in_ok": fact["channels_in"] % 32 == 0,
            "channels_out": fact["channels_out"],
            "channels_out_ok": fact["channels_out"] % 8 == 0,
        }))
    return [row for *_, row in sorted(rows, key=lambda item: item[:2])]


def conv_totals(convs: list[dict]) -> dict:
    """Counts over :func:`lce_report`'s ``convs`` rows."""
    return {
        "convs": len(convs),
        "with_bn": sum(row["bn_fused"] is not None for row in convs),
        "bn_fused": sum(row["bn_fused"] is True for row in convs),
        "bitpacked_outputs": sum(row["output"] == "bitpacked" for row in convs),
        "channels_in_not_multiple_of_32": sum(not row["channels_in_ok"] for row in convs),
        "channels_out_not_multiple_of_8": sum(not row["channels_out_ok"] for row in convs),
    }


def lce_report(model: tf.keras.Model, flatbuffer: bytes | None = None) -> dict:
    """Op counts of the converted model, the binary-meant layers that did not binarise, and one
    row per binarised ``QuantConv2D`` (``convs``, totals in ``conv_totals``):

    * ``bn_fused``: True when a BatchNorm follows the layer in Keras and the op carries it (its
      per-channel post-activation multiplier and bias, or thresholds for bit-packed output) with
      no float ``MUL`` by a constant reading its output; False when such a ``MUL`` does (the
      BatchNorm runs in float: e.g. the conv's output has another consumer); None when no
      BatchNorm follows the layer;
    * ``output``: "bitpacked" (int32, 32 channels a word, read by the next binary conv: no float
      tensor, no ``LceQuantize``) or "float"; ``read_by``: the op types reading it;
    * ``channels_in`` / ``channels_out`` and whether they are multiples of 32 / 8 (``_ok``);
    * ``op_index`` and ``op_output`` (the op and its output tensor in the flatbuffer) and
      ``tied_by``, how the op was tied to the layer (module docstring).
    """
    flatbuffer = convert_to_lce(model) if flatbuffer is None else flatbuffer
    ops = op_histogram(flatbuffer)
    layers = dict(binary_layers(model))
    convs = {p: layer for p, layer in layers.items() if isinstance(layer, lq.layers.QuantConv2D)}
    tied, unmapped = _binarised(convs, _bconv_ops(flatbuffer))
    done = set(tied)
    not_binarised = []
    for path in sorted(set(layers) - done):
        reasons = binarisable_problems(layers[path]) or [
            f"ambiguous: {len(unmapped)} LceBconv2d op(s) could not be tied to a layer; this "
            "may be one" if unmapped else "no LceBconv2d op matches its binarised kernel"]
        not_binarised.append({"layer": path, "reasons": reasons})
    advice = [{"layer": p, "notes": performance_notes(convs[p])} for p in sorted(done)
              if performance_notes(convs[p])]
    rows = _conv_rows(convs, tied, _bconv_facts(flatbuffer))
    return {
        "quant_conv2d": len(convs), "binary_layers": len(layers),
        "lce_bconv2d": ops.get("LceBconv2d", 0), "float_conv2d": ops.get("CONV_2D", 0),
        "ops": ops, "flatbuffer_bytes": len(flatbuffer),
        "not_binarised": not_binarised, "advice": advice,
        "convs": rows, "conv_totals": conv_totals(rows),
    }
