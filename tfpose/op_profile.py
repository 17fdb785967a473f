"""Where a ``.tflite`` file's host time goes, op by op: ``tfpose benchmark --profile``.

Neither TensorFlow's nor LCE's Python interpreter exposes TFLite's op profiler, so each op is
timed in a model of its own cut from the file: the op with its constant inputs (weights, biases,
shapes) and the tensors it reads and writes, run by the same interpreter with the same threads
and kernels as the whole file.

* A one-op model also pays for the call and for copying its inputs in and its outputs out, which
  the op does not pay inside the whole file. So each op is cut twice, once alone and once as
  ``COPIES`` copies reading the same inputs, and its time is the difference divided by
  ``COPIES - 1``: the call and the copies cancel out. Each copy's result feeds a ``SHAPE`` op,
  so that XNNPACK cannot drop the copies as unused.
* A zero ``PAD`` that only feeds the convolution after it is cut with that convolution (XNNPACK
  folds it into the convolution), so it has no row of its own.
* An op's two models are timed alternately, then released before the next op's: with more
  than one thread, a live interpreter's pool keeps spinning after each run and slows whatever
  runs next. The whole file is sampled between ops, over the same stretch of time.
* Inputs are random (float values in [0, 255], random int8 / uint8 codes), except integer
  tensors that may hold indices, shapes or bit-packed signs, which are zeros: an op's time does
  not depend on the values it reads.

:func:`profile` reports the per-op times' sum beside the whole file's time; they agree within
15% on our binary and float files (``tests/test_op_profile.py``). Ops are grouped as binary
(LCE's ``LceBconv2d`` and ``LceBMaxPool2d``: the 1-bit work) and float (everything else,
``LceQuantize`` / ``LceDequantize`` included: the overhead around the binary convolutions). MACs
are counted for convolutions, transposed convolutions and fully connected layers.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from flatbuffers import flexbuffers
from tensorflow.lite.python import schema_py_generated as schema_fb
from tensorflow.lite.tools import flatbuffer_utils

from tfpose.runtime.flatbuffer import op_name

COPIES = 4
BINARY_OPS = ("LceBconv2d", "LceBMaxPool2d")
NUMPY_TYPES = {schema_fb.TensorType.FLOAT32: np.float32, schema_fb.TensorType.FLOAT16: np.float16,
               schema_fb.TensorType.INT8: np.int8, schema_fb.TensorType.UINT8: np.uint8,
               schema_fb.TensorType.INT16: np.int16, schema_fb.TensorType.INT32: np.int32,
               schema_fb.TensorType.INT64: np.int64, schema_fb.TensorType.BOOL: np.bool_}


@dataclass
class CutOp:
    """One op of a file, cut out to be timed alone and in copies."""

    index: int
    op: str
    output: str  # name of its first output tensor
    shape: list[int]  # of its first output
    macs: int | None
    alone: bytes
    copies: bytes
    inputs: list[np.ndarray] = field(default_factory=list)

    @property
    def binary(self) -> bool:
        return self.op in BINARY_OPS


def cut_ops(flatbuffer: bytes) -> list[CutOp]:
    """Every op of the main subgraph as a pair of small models (module docstring). A zero
    ``PAD`` read only by the convolution after it is cut with that convolution, and its time
    counted in the convolution's: XNNPACK folds such a pad into the convolution."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    graph = model.subgraphs[0]
    reader = schema_fb.Model.GetRootAsModel(flatbuffer, 0)
    names = [op_name(reader, reader.Subgraphs(0).Operators(i))
             for i in range(len(graph.operators))]
    rng = np.random.default_rng(0)
    cut = []
    for unit in _units(graph, names):
        last = graph.operators[unit[-1]]
        produced = {t for i in unit for t in graph.operators[i].outputs}
        feeds = list(dict.fromkeys(  # once each, in order (CONCATENATION([x, x]) reads x once)
            t for i in unit for t in graph.operators[i].inputs
            if t >= 0 and t not in produced and not _is_constant(model, graph.tensors[t])))
        first = graph.tensors[last.outputs[0]]
        cut.append(CutOp(unit[-1], names[unit[-1]], _text(first.name),
                         [int(v) for v in first.shape], _macs(names[unit[-1]], model, graph, last),
                         _cut_model(model, graph, unit, 1), _cut_model(model, graph, unit, COPIES),
                         [_random_input(graph.tensors[t], rng) for t in feeds]))
    return cut


FOLDED_PADS = ("PAD", "PADV2")
PADDED_CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def _units(graph, names) -> list[list[int]]:
    """Op indices in groups timed together: a pad with the convolution that alone reads it,
    every other op alone."""
    readers = defaultdict(list)
    for i, op in enumerate(graph.operators):
        for t in op.inputs:
            readers[t].append(i)
    units, taken = [], set()
    for i, op in enumerate(graph.operators):
        if i in taken:
            continue
        following = readers[op.outputs[0]]
        if names[i] in FOLDED_PADS and len(following) == 1 and \
                names[following[0]] in PADDED_CONVS and \
                graph.operators[following[0]].inputs[0] == op.outputs[0]:
            units.append([i, following[0]])
            taken.add(following[0])
        else:
            units.append([i])
    return units


def _cut_model(model, graph, unit: list[int], copies: int) -> bytes:
    """A model of ``copies`` copies of the ops ``unit``, all reading the same inputs. The
    first copy's outputs are the model's outputs; every copy's result also feeds a ``SHAPE``
    op (reads no data, writes 4 integers) whose result is an output too, so that no copy can be
    pruned as unused (XNNPACK drops nodes whose results nothing reads) and no copy's data is
    copied out."""
    cut = schema_fb.ModelT()
    cut.version = model.version
    cut.operatorCodes = [*model.operatorCodes, _shape_code()]
    cut.buffers = [schema_fb.BufferT()]  # buffer 0: the empty one of non-constant tensors
    tensors, graph_inputs, shared = [], [], {}

    def add(index: int) -> int:
        tensor = copy.copy(graph.tensors[index])
        if _is_constant(model, tensor):
            cut.buffers.append(model.buffers[tensor.buffer])
            tensor.buffer = len(cut.buffers) - 1
        else:
            tensor.buffer = 0
        tensors.append(tensor)
        return len(tensors) - 1

    produced = {t for i in unit for t in graph.operators[i].outputs}
    for i in unit:  # the unit's inputs from outside it, shared by every copy
        for t in graph.operators[i].inputs:
            if t >= 0 and t not in produced and t not in shared:
                shared[t] = add(t)
                if not _is_constant(model, graph.tensors[t]):
                    graph_inputs.append(shared[t])
    operators, outputs = [], []
    for c in range(copies):
        local = dict(shared)
        for i in unit:
            replica = copy.copy(graph.operators[i])
            replica.inputs = [local[t] if t >= 0 else t for t in replica.inputs]
            for t in replica.outputs:
                local[t] = add(t)  # each copy writes its own outputs
            replica.outputs = [local[t] for t in replica.outputs]
            operators.append(replica)
        result = replica.outputs
        shape = _shape_op(len(cut.operatorCodes) - 1, result[0], tensors)
        operators.append(shape)
        outputs += (result if c == 0 else []) + shape.outputs
    subgraph = schema_fb.SubGraphT()
    subgraph.tensors, subgraph.operators = tensors, operators
    subgraph.inputs, subgraph.outputs = graph_inputs, outputs
    cut.subgraphs = [subgraph]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(cut))


def _shape_code():
    code = schema_fb.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema_fb.BuiltinOperator.SHAPE
    code.version = 1
    return code


def _shape_op(opcode: int, source: int, tensors: list):
    """A SHAPE op reading ``source``; appends its int32 output tensor to ``tensors``."""
    result = schema_fb.TensorT()
    result.shape = [len(tensors[source].shape)]
    result.type = schema_fb.TensorType.INT32
    result.buffer = 0
    result.name = b"shape"
    tensors.append(result)
    op = schema_fb.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = opcode, [source], [len(tensors) - 1]
    op.builtinOptionsType = schema_fb.BuiltinOptions.ShapeOptions
    op.builtinOptions = schema_fb.ShapeOptionsT()
    op.builtinOptions.outType = schema_fb.TensorType.INT32
    return op


def _is_constant(model, tensor) -> bool:
    data = model.buffers[tensor.buffer].data
    return data is not None and len(data) > 0


def _random_input(tensor, rng) -> np.ndarray:
    shape = [int(v) for v in tensor.shape]
    dtype = NUMPY_TYPES.get(tensor.type)
    if dtype is None:
        raise ValueError(f"tensor {_text(tensor.name)}: type {tensor.type} cannot be fed")
    if dtype in (np.float32, np.float16):
        return rng.uniform(0, 255, shape).astype(dtype)
    if dtype in (np.int8, np.uint8):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
    return np.zeros(shape, dtype)  # indices, shapes, bit-packed signs: zeros are always valid


def _macs(name: str, model, graph, op) -> int | None:
    """Multiply-accumulates of convolutions and fully connected layers, else None."""
    out = [int(v) for v in graph.tensors[op.outputs[0]].shape]
    if name == "CONV_2D":  # filter [out, kh, kw, in]
        _, kh, kw, cin = graph.tensors[op.inputs[1]].shape
        return int(np.prod(out) * kh * kw * cin)
    if name == "DEPTHWISE_CONV_2D":  # filter [1, kh, kw, out]
        _, kh, kw, _ = graph.tensors[op.inputs[1]].shape
        return int(np.prod(out) * kh * kw)
    if name == "TRANSPOSE_CONV":  # inputs: output shape, filter [out, kh, kw, in], input
        cout, kh, kw, _ = graph.tensors[op.inputs[1]].shape
        return int(np.prod(graph.tensors[op.inputs[2]].shape) * kh * kw * cout)
    if name == "FULLY_CONNECTED":  # weights [out, in]
        cout, cin = graph.tensors[op.inputs[1]].shape
        return int(np.prod(out[:-1]) * cout * cin)
    if name == "LceBconv2d":  # filter [out, kh, kw, packed words]; channels_in in the options
        _, kh, kw, _ = graph.tensors[op.inputs[1]].shape
        options = flexbuffers.Loads(bytes(op.customOptions))
        return int(np.prod(out) * kh * kw * options["channels_in"])
    return None


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass
class Profile:
    """A file's per-op host times (ms, medians over the runs) and its whole time."""

    whole_ms: float
    ops: list[dict]  # index, op, output, shape, macs, binary, ms

    @property
    def sum_ms(self) -> float:
        return sum(op["ms"] for op in self.ops)

    def by_type(self) -> dict[str, float]:
        """ms per op type, largest first."""
        totals = defaultdict(float)
        for op in self.ops:
            totals[op["op"]] += op["ms"]
        return dict(sorted(totals.items(), key=lambda item: -item[1]))

    def slowest(self, count: int = 10) -> list[dict]:
        return sorted(self.ops, key=lambda op: -op["ms"])[:count]

    def split(self) -> dict[str, float]:
        """ms of the binary ops and of the float ops."""
        binary = sum(op["ms"] for op in self.ops if op["binary"])
        return {"binary": binary, "float": self.sum_ms - binary}

    def as_json(self) -> dict:
        return {"whole_ms": round(self.whole_ms, 3), "sum_of_ops_ms": round(self.sum_ms, 3),
                "by_type": {k: round(v, 3) for k, v in self.by_type().items()},
                "binary_ms": round(self.split()["binary"], 3),
                "float_ms": round(self.split()["float"], 3),
                "slowest": [{**op, "ms": round(op["ms"], 3)} for op in self.slowest()]}


def profile(flatbuffer: bytes, make_interpreter, *, runs: int = 10, warmup: int = 2,
            progress=None) -> Profile:
    """Time every op of ``flatbuffer`` and the whole file (module docstring).

    ``make_interpreter(flatbuffer_bytes)`` returns an object with ``predict(inputs)``, made the
    way the whole file runs (threads, kernels). One op's two models are timed alternately, then
    released before the next op's: with more than one thread, every live interpreter keeps a
    pool of threads that spin for a while after each run and slow down whatever runs next.
    ``progress`` wraps the list of ops (e.g. tqdm).
    """
    whole, whole_inputs = make_interpreter(flatbuffer), _whole_inputs(flatbuffer)
    whole_times = [_seconds(whole, whole_inputs) for _ in range(warmup)]
    ops = cut_ops(flatbuffer)
    every = max(1, len(ops) // (3 * runs))  # about 3 x runs whole runs, spread over the ops
    rows = []
    for position, op in enumerate(progress(ops) if progress else ops):
        if position % every == 0:  # the whole file, sampled while its ops are timed
            whole_times.append(_seconds(whole, whole_inputs))
        alone, copies = make_interpreter(op.alone), make_interpreter(op.copies)
        times = {alone: [], copies: []}
        for _ in range(warmup + runs):
            for interpreter, found in times.items():
                found.append(_seconds(interpreter, op.inputs))
        difference = (statistics.median(times[copies][warmup:])
                      - statistics.median(times[alone][warmup:]))
        rows.append({"index": op.index, "op": op.op, "output": op.output, "shape": op.shape,
                     "macs": op.macs, "binary": op.binary,
                     "ms": max(0.0, 1e3 * difference / (COPIES - 1))})
        del alone, copies, times
    return Profile(1e3 * statistics.median(whole_times[warmup:]), rows)


def _whole_inputs(flatbuffer: bytes) -> list[np.ndarray]:
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    graph = model.subgraphs[0]
    rng = np.random.default_rng(1)
    return [_random_input(graph.tensors[i], rng) for i in graph.inputs]


def _seconds(interpreter, inputs) -> float:
    start = time.perf_counter()
    interpreter.predict(inputs if len(inputs) > 1 else inputs[0])
    return time.perf_counter() - start


def float_ops_left(result: Profile) -> dict:
    """What a binary file's host time goes to outside its binary ops (``tfpose lce-check``):
    the whole file's time, the binary / float split of the ops' summed time, and the float op
    types (``LceQuantize`` / ``LceDequantize`` included) with their count, ms and share of the
    summed op time, largest first. Shares are of the sum of the ops' times, which agrees with
    the whole file's within 15% (module docstring)."""
    total = result.sum_ms
    split = result.split()
    counts = defaultdict(int)
    for op in result.ops:
        counts[op["op"]] += 1

    def share(ms: float) -> float:
        return round(ms / total, 4) if total else 0.0

    return {
        "whole_ms": round(result.whole_ms, 3), "sum_of_ops_ms": round(total, 3),
        "binary_ms": round(split["binary"], 3), "float_ms": round(split["float"], 3),
        "binary_share": share(split["binary"]), "float_share": share(split["float"]),
        "float_ops": [{"op": name, "count": counts[name], "ms": round(ms, 3), "share": share(ms)}
                      for name, ms in result.by_type().items() if name not in BINARY_OPS],
    }
