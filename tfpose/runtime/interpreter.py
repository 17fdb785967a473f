"""Running ``.tflite`` files on the host: LCE's interpreter (its custom ops and stock ones), set
up as phones run it, and the label every host figure carries.

The one owner of how files run here: ``tfpose predict`` / ``evaluate``, the parity check,
``tfpose benchmark`` and its op profile all go through :func:`host_interpreter` and
:func:`file_kernels`.

Where LCE is not installed (it has no Linux ARM64 wheel), files without binary ops run in stock
TensorFlow Lite's interpreter (XNNPACK on, as in LCE's) and binary files are a one-line error
(:data:`NO_LCE`).
"""

from __future__ import annotations

import logging
import platform

import numpy as np

from tfpose.errors import TfposeError
from tfpose.runtime.flatbuffer import io_details, op_histogram, strided_past_kernel_same_convs

log = logging.getLogger("tfpose")

BINARY_OPS = ("LceBconv2d",)  # a file with one of these runs LCE's binary kernels
NO_LCE = ("LCE (larq-compute-engine) is not installed here; it has no wheel for Linux ARM64. "
          "Convert binary models on Linux x86-64 or macOS, and run binary .tflite files with "
          "LCE's lce_benchmark_model or the Android app")


class LCEMissing(TfposeError):
    """A binary model needs LCE, which is not installed on this machine."""


def lce_available() -> bool:
    """Whether LCE's converter and interpreter can be imported here."""
    try:
        import larq_compute_engine.tflite.python.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


def is_binary_file(flatbuffer: bytes) -> bool:
    """Whether the file has LCE binary convolutions."""
    return any(op in op_histogram(flatbuffer) for op in BINARY_OPS)


def file_kernels(flatbuffer: bytes) -> str:
    """The kernels :func:`host_interpreter` runs this file with here (:func:`host_kernels`), the
    label of every figure and readout."""
    xnnpack = not strided_past_kernel_same_convs(flatbuffer)
    return host_kernels(is_binary_file(flatbuffer), xnnpack)


def host_interpreter(flatbuffer: bytes, threads: int = 1, *, use_indirect_bgemm: bool = True,
                     use_xnnpack: bool = True):
    """LCE's interpreter for any ``.tflite`` (its custom ops or stock ones), set up as phones run
    it: float ops under XNNPACK (LCE's published Pixel / RPi figures were measured with XNNPACK,
    REFERENCE; it leaves LCE's custom ops to LCE) and binary convolutions with indirect BGEMM
    (on x86 LCE's default binary path is about 7x slower). ``threads`` is every kernel's thread
    count; LCE's binary kernels on x86 do not get faster with more (:func:`host_kernels`).

    A file with a ``SAME`` conv strided past its kernel runs without XNNPACK, which computes
    those wrongly (:func:`tfpose.runtime.flatbuffer.strided_past_kernel_same_convs`), with a
    warning naming the first.
    """
    miscomputed = strided_past_kernel_same_convs(flatbuffer) if use_xnnpack else []
    if miscomputed:
        log.warning("XNNPACK off for this file: it computes a SAME conv strided past its kernel "
                    "wrongly (%s%s)", miscomputed[0],
                    f" and {len(miscomputed) - 1} more" if len(miscomputed) > 1 else "")
    if not lce_available():
        if is_binary_file(flatbuffer):
            raise LCEMissing(f"this model has binary layers: {NO_LCE}")
        return StockInterpreter(flatbuffer, threads, use_xnnpack and not miscomputed)
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    return Interpreter(flatbuffer, num_threads=threads, use_reference_bconv=False,
                       use_indirect_bgemm=use_indirect_bgemm,
                       use_xnnpack=use_xnnpack and not miscomputed)


class StockInterpreter:
    """Stock TensorFlow Lite behind the calls tfpose makes of LCE's interpreter
    (``input_shapes``, ``predict`` looping over the batch), for machines without LCE."""

    def __init__(self, flatbuffer: bytes, threads: int = 1, use_xnnpack: bool = True):
        import tensorflow as tf

        resolver = (tf.lite.experimental.OpResolverType.AUTO if use_xnnpack else
                    tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        self._interpreter = tf.lite.Interpreter(model_content=flatbuffer, num_threads=threads,
                                                experimental_op_resolver_type=resolver)
        self._interpreter.allocate_tensors()
        self._inputs = [d["index"] for d in self._interpreter.get_input_details()]
        self._outputs = [d["index"] for d in self._interpreter.get_output_details()]

    @property
    def input_shapes(self) -> list[tuple[int, ...]]:
        return [tuple(int(v) for v in d["shape"]) for d in self._interpreter.get_input_details()]

    def predict(self, inputs):
        """A batch (list of batches for several inputs) -> array (list for several outputs)."""
        arrays = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
        results = [[] for _ in self._outputs]
        for b in range(len(arrays[0])):
            for index, array in zip(self._inputs, arrays, strict=True):
                self._interpreter.set_tensor(index, array[b:b + 1])
            self._interpreter.invoke()
            for result, index in zip(results, self._outputs, strict=True):
                result.append(self._interpreter.get_tensor(index)[0])
        outputs = [np.stack(r) for r in results]
        return outputs if len(outputs) > 1 else outputs[0]


def host_kernels(binary: bool, xnnpack: bool = True) -> str:
    """The label of how :func:`host_interpreter` runs a file on this machine, for every figure
    (``xnnpack=False``: a file it runs without XNNPACK)."""
    floats = "XNNPACK" if xnnpack else "TFLite builtin kernels"
    if not lce_available():
        floats += " (stock TFLite, no LCE)"
    if not binary:
        return floats
    one_thread = ", 1 thread on x86" if platform.machine() in ("x86_64", "AMD64") else ""
    return f"LCE indirect BGEMM{one_thread} + {floats}"


class LCEInterpreterRunner:
    """Runs any ``.tflite`` (LCE's custom ops or stock ones) on the host with LCE's interpreter.

    Inputs are float32 images whatever the file's input type: quantised (uint8 / int8) inputs
    are quantised here with the file's scale and zero point, and quantised outputs dequantised,
    so callers always see float32. ``Interpreter.predict`` loops over the leading batch axis
    (converted models have batch 1). The defaults are :func:`host_interpreter`'s.
    """

    def __init__(self, flatbuffer: bytes, num_threads: int = 1, use_indirect_bgemm: bool = True,
                 use_xnnpack: bool = True):
        self.interpreter = host_interpreter(flatbuffer, num_threads,
                                            use_indirect_bgemm=use_indirect_bgemm,
                                            use_xnnpack=use_xnnpack)
        details = io_details(flatbuffer)
        self.inputs, self.outputs = details["inputs"], details["outputs"]

    def predict(self, inputs):
        """Batch ``[B, ...]`` array (list of arrays for several inputs) -> array or list."""
        arrays = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
        shapes = self.interpreter.input_shapes
        if len(arrays) != len(shapes):
            raise ValueError(f"model takes {len(shapes)} input(s), got {len(arrays)}")
        arrays = [np.asarray(a, dtype=np.float32) for a in arrays]
        for array, shape in zip(arrays, shapes, strict=True):
            if array.ndim != len(shape) or array.shape[1:] != tuple(shape[1:]) or not len(array):
                raise ValueError(f"expected a batch of shape (B>0, {tuple(shape[1:])}), "
                                 f"got {array.shape}")
        arrays = [_quantize(a, d) for a, d in zip(arrays, self.inputs, strict=True)]
        outputs = self.interpreter.predict(arrays if len(arrays) > 1 else arrays[0])
        if isinstance(outputs, list):
            return [_dequantize(o, d) for o, d in zip(outputs, self.outputs, strict=True)]
        return _dequantize(outputs, self.outputs[0])

    __call__ = predict


_INTEGER_TYPES = {"uint8": np.uint8, "int8": np.int8}


def _quantize(array: np.ndarray, detail: dict) -> np.ndarray:
    if detail["dtype"] not in _INTEGER_TYPES:
        return array
    dtype = _INTEGER_TYPES[detail["dtype"]]
    info = np.iinfo(dtype)
    q = np.round(array / detail["scale"][0] + detail["zero_point"][0])
    return np.clip(q, info.min, info.max).astype(dtype)


def _dequantize(array: np.ndarray, detail: dict) -> np.ndarray:
    if detail["dtype"] not in _INTEGER_TYPES:
        return array
    return ((array.astype(np.float32) - detail["zero_point"][0])
            * np.float32(detail["scale"][0])).astype(np.float32)


def run_lce(flatbuffer: bytes, inputs, num_threads: int = 1, use_indirect_bgemm: bool = True):
    """One-off :class:`LCEInterpreterRunner` prediction over a batch."""
    return LCEInterpreterRunner(flatbuffer, num_threads, use_indirect_bgemm).predict(inputs)
