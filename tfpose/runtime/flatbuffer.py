"""Reading and fixing TFLite flatbuffers (ours and LCE's share the same schema)."""

from __future__ import annotations

from collections import Counter

from tensorflow.lite.python import schema_py_generated as schema_fb
from tensorflow.lite.tools import flatbuffer_utils

_OP_NAMES = {v: k for k, v in vars(schema_fb.BuiltinOperator).items() if not k.startswith("_")}


def operators(flatbuffer: bytes):
    """Yields (model, subgraph, operator, op name) over all subgraphs."""
    model = schema_fb.Model.GetRootAsModel(flatbuffer, 0)
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            yield model, graph, op, op_name(model, op)


def op_name(model, op) -> str:
    """``"CONV_2D"``, ``"LceBconv2d"``...: the builtin or custom name of ``op`` of ``model``."""
    code = model.OperatorCodes(op.OpcodeIndex())
    custom = code.CustomCode()
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    return custom.decode() if custom else _OP_NAMES.get(builtin, str(builtin))


def strided_past_kernel_same_convs(flatbuffer: bytes) -> list[str]:
    """Output names of the ``SAME``-padded convolutions whose stride exceeds their kernel (a 3x3
    conv at stride 4, a 2x2 at stride 3): the XNNPACK of TensorFlow 2.16 computes them wrongly
    (half the range off on a test conv, as does stock TFLite with its default XNNPACK), so files
    with them run without XNNPACK (:func:`tfpose.runtime.interpreter.host_interpreter`). 1x1 convs,
    ``VALID`` padding and stride <= kernel are computed right."""
    found = []
    for _, graph, op, name in operators(flatbuffer):
        if name not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        options = (schema_fb.Conv2DOptions() if name == "CONV_2D"
                   else schema_fb.DepthwiseConv2DOptions())
        table = op.BuiltinOptions()
        options.Init(table.Bytes, table.Pos)
        _, height, width, _ = graph.Tensors(op.Inputs(1)).ShapeAsNumpy()
        if options.Padding() == schema_fb.Padding.SAME and (
                (height > 1 and options.StrideH() > height)
                or (width > 1 and options.StrideW() > width)):
            found.append(graph.Tensors(op.Outputs(0)).Name().decode())
    return found


def op_histogram(flatbuffer: bytes) -> dict[str, int]:
    """Counts ops by name ("CONV_2D", "LceBconv2d", ...) over all subgraphs."""
    return dict(Counter(name for *_, name in operators(flatbuffer)))


def op_outputs(flatbuffer: bytes, name: str) -> list[int] | None:
    """Tensor indices of the outputs of the first op called ``name`` (None: no such op)."""
    for _, _, op, found in operators(flatbuffer):
        if found == name:
            return [int(i) for i in op.OutputsAsNumpy()]
    return None


def signature_outputs(flatbuffer: bytes) -> list[tuple[str, int]]:
    """(signature output name, tensor index) of the first signature, sorted by name."""
    model = schema_fb.Model.GetRootAsModel(flatbuffer, 0)
    if not model.SignatureDefsLength():
        return []
    signature = model.SignatureDefs(0)
    outputs = [signature.Outputs(i) for i in range(signature.OutputsLength())]
    return sorted((o.Name().decode(), o.TensorIndex()) for o in outputs)


def order_outputs_by_signature(flatbuffer: bytes) -> bytes:
    """Rewrites the main subgraph's output list in the order of the signature's output names.

    The TFLite converter lists a multi-output model's outputs in an order of its own (seen with
    TF 2.16: 12 outputs came out as 10, 3, 0, 2, ...), and interpreters without signature
    support -- LCE's Python interpreter, a plain ``Interpreter.run`` on Android -- return them in
    that order. Our converters name outputs ``output_000``, ``output_001``, ... in the Keras
    model's order, so sorting by name restores it for every runtime.
    """
    wanted = [index for _, index in signature_outputs(flatbuffer)]
    model = schema_fb.Model.GetRootAsModel(flatbuffer, 0)
    graph = model.Subgraphs(0)
    current = [int(i) for i in graph.OutputsAsNumpy()] if graph.OutputsLength() else []
    if len(wanted) < 2 or wanted == current or sorted(wanted) != sorted(current):
        return flatbuffer
    unpacked = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    unpacked.subgraphs[0].outputs = wanted
    return flatbuffer_utils.convert_object_to_bytearray(unpacked)


_TYPE_NAMES = {v: k.lower() for k, v in vars(schema_fb.TensorType).items()
               if not k.startswith("_")}


def io_details(flatbuffer: bytes) -> dict[str, list[dict]]:
    """Inputs and outputs of the main subgraph: name, shape, dtype and, for quantised tensors,
    ``scale`` and ``zero_point`` (real value = scale * (q - zero_point)).

    Read from the flatbuffer itself, so it works for files with LCE's custom ops, which a stock
    interpreter refuses to load.
    """
    model = schema_fb.Model.GetRootAsModel(flatbuffer, 0)
    graph = model.Subgraphs(0)

    def describe(index: int) -> dict:
        tensor = graph.Tensors(index)
        entry = {"name": tensor.Name().decode(), "shape": [int(v) for v in tensor.ShapeAsNumpy()],
                 "dtype": _TYPE_NAMES.get(tensor.Type(), str(tensor.Type()))}
        quantization = tensor.Quantization()
        if quantization is not None and quantization.ScaleLength():
            entry["scale"] = [float(v) for v in quantization.ScaleAsNumpy()]
            entry["zero_point"] = [int(v) for v in quantization.ZeroPointAsNumpy()]
        return entry

    return {"inputs": [describe(int(i)) for i in graph.InputsAsNumpy()],
            "outputs": [describe(int(i)) for i in graph.OutputsAsNumpy()]}
