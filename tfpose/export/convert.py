"""From a trained Keras model to a ``.tflite`` a phone runs, with a report of what came out.

* Binary models (any Larq layer meant to be binary) have their RPReLU shifts folded into
  neighbouring constants (:func:`tfpose.export.folding.fold_rprelu_shifts`: same values, fewer
  float ops), then go through Larq Compute Engine
  (:func:`tfpose.export.lce.convert_to_lce`, ``target="arm"``), float32 in and out; every
  ``QuantConv2D`` must become an ``LceBconv2d`` op, else :class:`ConversionError` names the
  layers and why (:func:`tfpose.export.lce.lce_report`).
* Float models (HRNet, LitePose, FasterPose, SimpleBaseline) go through the TFLite converter:
  ``fp32``; ``fp16`` (weights stored as float16, computed in float32 or float16 by the
  runtime); or ``int8``, full-integer quantisation calibrated on a representative set of model
  inputs from the training data, with ``uint8`` input (the models normalise inside the graph,
  so camera pixels go in as they are: calibration on 0-255 images gives a scale near 1 and zero
  point 0; the report has the exact parameters) and float32 outputs. An op that has no
  int8 kernel fails the conversion, named in the error. Depthwise convolutions with kernels
  larger than 5x5 stay float32 between a dequantise and a quantise op (``full_integer=False``,
  the default): XNNPACK, which runs float and int8 files on phones and here, has no fast int8
  kernel for them (measured on this x86 host: a 7x7 int8 depthwise conv at 64x64x96 takes
  50 ms under XNNPACK, the float one 1.5 ms; LitePose-XS int8 ran 15x slower than fp32).
  ``full_integer=True`` quantises every op, for integer-only accelerators.
* ``with_decoder``: top-down models get the in-graph decoder (:mod:`tfpose.export.decoder`), so
  the file outputs ``[1, K, 3]`` keypoints in input pixels. Not with int8: full-integer
  quantisation would also quantise the decoder (measured on FasterPose: argmax ties among int8
  values and one scale for pixel coordinates and scores moved keypoints by tens of pixels), so
  int8 files output dequantised heatmaps and the app decodes them (the codec's decoders, or the
  Android demo's port of them).

Every file carries its :class:`~tfpose.codecs.model_info.ModelInfo` as TFLite metadata.
:func:`conversion_report` describes a flatbuffer: op histogram, size, binary share, inputs and
outputs with shapes, types and quantisation parameters.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from tfpose.codecs.model_info import ModelInfo, attach_to_tflite
from tfpose.errors import first_line
from tfpose.export.decoder import with_decoder
from tfpose.export.folding import rprelu_shifts_folded
from tfpose.export.lce import ConversionError, convert_to_lce, lce_report, save_inference_graph
from tfpose.layers.binary import binary_layers
from tfpose.models.summary import model_summary
from tfpose.runtime.flatbuffer import (
    io_details,
    op_histogram,
    operators,
    order_outputs_by_signature,
)

QUANTIZATIONS = ("fp32", "fp16", "int8")
# Op counts that say "binary" in a report; float convs are everything else that multiplies.
CONV_OPS = ("LceBconv2d", "CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "FULLY_CONNECTED")


@dataclass
class Conversion:
    """A converted model: the flatbuffer, its report and the Keras model it computes."""

    flatbuffer: bytes
    report: dict
    keras_model: tf.keras.Model  # with the decoder when one was baked in


def is_binary_model(model: tf.keras.Model) -> bool:
    return bool(binary_layers(model))


def convert(model: tf.keras.Model, info: ModelInfo, *, quantization: str = "fp32",
            decoder: bool = False, representative: Callable[[], Iterable] | None = None,
            target: str = "arm", full_integer: bool = False) -> Conversion:
    """Convert ``model`` (module docstring).

    Args:
      model: a built Keras model with a fixed input size.
      info: its model information (written into the file; ``decoded`` is set from ``decoder``).
      quantization: ``fp32``, ``fp16`` or ``int8`` (float models; binary models take fp32).
      decoder: bake the heatmap decoder into the graph (top-down models).
      representative: for ``int8``: a function returning an iterable of ``[H, W, 3]`` float32
        model inputs (RGB, 0-255) from the training data, 50 to a few hundred of them.
      target: LCE target for binary models (``arm`` or ``xcore``).
      full_integer: ``int8`` only: quantise the large depthwise convolutions too (module
        docstring).
    Raises:
      ConversionError: the converter refused, an op blocks int8, a binary layer stayed float,
        or the options do not fit the model.
    """
    if quantization not in QUANTIZATIONS:
        raise ConversionError(f"quantization must be one of {QUANTIZATIONS}, got "
                              f"{quantization!r}")
    binary = is_binary_model(model)
    if binary and quantization != "fp32":
        raise ConversionError(f"{model.name} is a binary model: it converts through LCE with "
                              "float32 activations around its binary layers; fp16 and int8 are "
                              "for float models")
    if quantization == "int8" and decoder:
        raise ConversionError("--with-decoder needs float arithmetic after the network; an int8 "
                              "file outputs float32 heatmaps for the app to decode (convert it "
                              "without --with-decoder, or use fp16 / fp32 with the decoder)")
    if quantization == "int8" and representative is None:
        raise ConversionError("int8 needs a representative dataset (model inputs from the "
                              "training data) to calibrate its activation ranges")
    with rprelu_shifts_folded(model) if binary else contextlib.nullcontext(0) as folded:
        flatbuffer, deployed, converter = _convert(model, info, quantization, decoder,
                                                   representative, target, full_integer, binary)
    flatbuffer = attach_to_tflite(flatbuffer, info.replace(decoded=decoder))
    report = {"model": model.name, "kind": info.kind, "keypoints": info.keypoints,
              "quantization": quantization, "decoder": decoder, "converter": converter,
              "full_integer": quantization == "int8" and full_integer,
              "folded_rprelu_shifts": folded,
              **conversion_report(flatbuffer)}
    summary = model_summary(model)
    report.update(params=summary["params"], macs=summary["macs"],
                  binary_mac_share=round(summary["binary_share"], 4))
    return Conversion(flatbuffer, report, deployed)


def _convert(model, info, quantization, decoder, representative, target, full_integer,
             binary) -> tuple[bytes, tf.keras.Model, str]:
    """The flatbuffer, the Keras model it computes and the converter's name."""
    deployed = model
    if decoder:
        if info.kind != "topdown":
            raise ConversionError(f"--with-decoder bakes the top-down heatmap decoder into the "
                                  f"graph; {model.name} is {info.kind} (its grouping runs on the "
                                  "host: tfpose.codecs.grouping)")
        try:
            deployed = with_decoder(model, info.heatmap_codec())
        except ValueError as e:
            raise ConversionError(str(e)) from None
    if binary:
        flatbuffer = convert_to_lce(deployed, target=target)
        _check_binarised(model, convert_to_lce(model, target=target) if decoder else flatbuffer)
        return (flatbuffer, deployed,
                f"larq-compute-engine {_version('larq_compute_engine')}, target {target}")
    flatbuffer = _tflite(deployed, quantization, representative, full_integer)
    return flatbuffer, deployed, f"tensorflow-lite {tf.__version__}, {quantization}"


def conversion_report(flatbuffer: bytes) -> dict:
    """Size, op histogram, binary share of the conv ops, inputs and outputs of a flatbuffer."""
    ops = op_histogram(flatbuffer)
    convs = sum(ops.get(name, 0) for name in CONV_OPS)
    return {"flatbuffer_bytes": len(flatbuffer), "ops": dict(sorted(ops.items())),
            "binary_conv_share": round(ops.get("LceBconv2d", 0) / convs, 4) if convs else 0.0,
            **io_details(flatbuffer)}


def _check_binarised(model: tf.keras.Model, flatbuffer: bytes) -> None:
    report = lce_report(model, flatbuffer)
    if report["not_binarised"] or report["lce_bconv2d"] < report["quant_conv2d"]:
        details = "; ".join(f"{entry['layer']}: {', '.join(entry['reasons'])}"
                            for entry in report["not_binarised"]) or (
            f"{report['lce_bconv2d']} LceBconv2d ops for {report['quant_conv2d']} QuantConv2D")
        raise ConversionError(f"{model.name}: layers meant to be binary stayed float ({details})")


def _tflite(model: tf.keras.Model, quantization: str, representative=None,
            full_integer: bool = False) -> bytes:
    """TFLite conversion of the batch-1 inference graph (outputs kept in the model's order)."""
    with tempfile.TemporaryDirectory() as saved_model_dir:
        save_inference_graph(model, saved_model_dir)

        def converter():
            made = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
            if quantization == "fp16":
                made.optimizations = [tf.lite.Optimize.DEFAULT]
                made.target_spec.supported_types = [tf.float16]
            elif quantization == "int8":
                made.optimizations = [tf.lite.Optimize.DEFAULT]
                made.representative_dataset = lambda: (
                    [np.asarray(x, np.float32)[None]] for x in representative())
                made.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                made.inference_input_type = tf.uint8
            return made

        try:
            flatbuffer = converter().convert()
            if quantization == "int8" and not full_integer:
                flatbuffer = _float_large_depthwise(flatbuffer, converter())
        except Exception as exc:
            what = "an op has no int8 kernel: " if quantization == "int8" else ""
            raise ConversionError(f"cannot convert model '{model.name}' to TFLite "
                                  f"{quantization}: {what}{first_line(exc)}") from exc
    return order_outputs_by_signature(flatbuffer)


LARGEST_INT8_DEPTHWISE = 25  # taps (5x5): larger int8 depthwise kernels are slow in XNNPACK


def large_depthwise_outputs(flatbuffer: bytes) -> list[str]:
    """Output tensor names of the depthwise convolutions with more than 5x5 taps."""
    names = []
    for _, graph, op, name in operators(flatbuffer):
        if name == "DEPTHWISE_CONV_2D":
            _, height, width, _ = graph.Tensors(op.Inputs(1)).ShapeAsNumpy()
            if height * width > LARGEST_INT8_DEPTHWISE:
                names.append(graph.Tensors(op.Outputs(0)).Name().decode())
    return names


def _float_large_depthwise(full_int8: bytes, converter) -> bytes:
    """The int8 model again, with its large depthwise convolutions left in float32: TFLite's
    selective quantisation (the quantisation debugger's deny list), then the uint8 input and
    float32 outputs of the full-integer file."""
    from tensorflow.lite.python.util import modify_model_io_type

    denied = large_depthwise_outputs(full_int8)
    if not denied:
        return full_int8
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
                                           tf.lite.OpsSet.TFLITE_BUILTINS]
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=converter.representative_dataset,
        debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=denied))
    mixed = debugger.get_nondebug_quantized_model()
    return bytes(modify_model_io_type(mixed, tf.uint8, tf.float32))


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package.replace("_", "-"))
