"""The conversion job behind ``python convert/to_lce.py`` and ``tfpose convert``.

1. The model: a ``.keras`` file saved by tfpose (its codec travels inside it), by default the
   main job's binary student (:func:`tfpose.engine.run.default_model_path`), or a zoo name with
   ``input_size`` (untrained weights, spread by :func:`stand_in_weights` so that the file has
   the ops of a trained one: for size and speed checks only).
2. Model inputs from ``--data`` (default the bundled synthetic figures): training inputs
   calibrate int8, validation inputs (plus the photos of ``images_dir``) check parity.
3. :func:`tfpose.export.convert.convert`, then parity of the file against the Keras model on
   the host (:class:`~tfpose.runtime.interpreter.LCEInterpreterRunner`; stated tolerances in
   :data:`tfpose.export.parity.TOLERANCES`).
4. ``OUT.tflite`` and ``OUT.json`` (the report), each written through a temporary file.
   A file that misses its parity tolerance is still written (to inspect), and the job raises
   :class:`ParityError` naming what missed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfpose.codecs.model_info import ModelInfo, guess_info, read_keras_info, zoo_info
from tfpose.data.bottomup import bottomup_dataset
from tfpose.data.image_records import read_coco_images
from tfpose.data.layouts import SYNTHETIC_IMAGES, locate_dataset, read_persons
from tfpose.data.topdown import topdown_dataset
from tfpose.engine.run import default_model_path
from tfpose.errors import DataError, TfposeError
from tfpose.export.convert import Conversion, convert, is_binary_model
from tfpose.export.parity import TOLERANCES, judge, output_parity, rounding_sensitivity
from tfpose.files import write_bytes_atomically, write_json_atomically
from tfpose.inference.images import crop_box, list_images, read_rgb
from tfpose.models.zoo import MODELS, create
from tfpose.runtime.interpreter import LCEInterpreterRunner
from tfpose.runtime.keras_files import load_keras_model

log = logging.getLogger("tfpose")

REPRESENTATIVE_INPUTS = 64  # int8 calibration: TFLite's guidance is "a few hundred" at most
PARITY_INPUTS = 32


class ParityError(TfposeError):
    """The converted file disagrees with its Keras model beyond the stated tolerance."""


@dataclass
class Source:
    """A model to convert and what it is."""

    model: tf.keras.Model
    info: ModelInfo
    path: Path | None  # None for an untrained zoo model
    name: str


def load_source(model: str | None, input_size=None) -> Source:
    """``model``: a ``.keras`` path, a zoo name, or None for the main job's model."""
    if model is None or model.endswith(".keras") or Path(model).exists():
        path = Path(model) if model else default_model_path()
        if not path.is_file():
            hint = (" (the main job's model: run `python training/train_bihrnet.py` first, or "
                    "name a .keras file or a zoo model)" if model is None else "")
            raise DataError(path, f"model file not found{hint}")
        info = read_keras_info(path)  # also checks it is a zip archive
        keras_model = load_keras_model(path)
        return Source(keras_model, info or guess_info(keras_model, path), path, path.stem)
    if model not in MODELS:
        raise DataError(model, f"neither a .keras file nor a zoo model (known: "
                        f"{', '.join(MODELS)})")
    keras_model = create(model, input_size=input_size)
    stand_in_weights(keras_model)
    info = zoo_info(keras_model, model, source=model)  # output and sigma: the model's preset
    return Source(keras_model, info.replace(model=model), None, model)


def stand_in_weights(model: tf.keras.Model, seed: int = 0) -> None:
    """Give an untrained model weights that convert to the ops a trained one converts to.

    Fresh weights that hold one value (zero shifts and biases, BatchNorm's unit scale and zero
    mean, RPReLU's 0.25 slopes) let the converter fold their ops away (``x + 0``, ``x * 1``,
    a per-channel PReLU with one slope becomes LEAKY_RELU): a zoo model converted untrained
    would be smaller and faster than the same model trained. Each such weight is spread instead
    (zero: normal with sigma 0.1; c: c times uniform 0.5-1.5, so variances stay positive).
    Weights that already vary (convolution kernels) are kept.
    """
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = weight.numpy()
        if value.size < 2 or np.ptp(value) > 0 or not np.issubdtype(value.dtype, np.floating):
            continue
        constant = value.flat[0]
        spread = (rng.normal(0, 0.1, value.shape) if constant == 0
                  else constant * rng.uniform(0.5, 1.5, value.shape))
        weight.assign(spread.astype(value.dtype))


def model_inputs(info: ModelInfo, data: str = "synthetic", data_root=None, *,
                 split: str = "val", count: int = PARITY_INPUTS) -> np.ndarray:
    """``[N, H, W, 3]`` float32 inputs made by the validation pipeline from a dataset's split:
    person crops (top-down) or fitted whole images (bottom-up)."""
    # The training scripts' synthetic splits; the training one only when it is read.
    files = locate_dataset(data, data_root,
                           synthetic_images=(SYNTHETIC_IMAGES[0] if split == "train" else 1,
                                             SYNTHETIC_IMAGES[1]),
                           splits=("train" if split == "train" else "validation",))
    if files.keypoint_set.name != info.keypoints:
        raise DataError(f"--data {data}", f"has {files.keypoint_set.name} keypoints, the model "
                        f"{info.keypoints}")
    ann, images = files.split(split)
    if info.kind == "bottomup":
        records = read_coco_images(ann, images, files.keypoint_set)
        dataset = bottomup_dataset(records, info.bottomup_codec(), batch_size=count)
    else:
        dataset = topdown_dataset(read_persons(files, ann, images), info.heatmap_codec(),
                                  batch_size=count)
    return next(iter(dataset))["image"].numpy()


def folder_inputs(info: ModelInfo, folder, count: int = PARITY_INPUTS) -> np.ndarray:
    """Whole photos of ``folder`` fitted into the model input (no annotations needed)."""
    return np.stack([crop_box(read_rgb(path), info.input_size)[0]
                     for path in list_images(folder)[:count]])


def parity(conversion: Conversion, info: ModelInfo, inputs: np.ndarray,
           quantization: str) -> dict:
    """Parity figures of the file against its Keras model, the tolerance and what missed."""
    runner = LCEInterpreterRunner(conversion.flatbuffer)
    keras_model = conversion.keras_model
    reference = keras_model.predict(inputs, batch_size=8, verbose=0)
    figures = output_parity(reference, runner(inputs), info.replace(decoded=conversion.report[
        "decoder"]))
    profile = quantization
    if is_binary_model(keras_model):
        floor = rounding_sensitivity(keras_model, inputs, info.heatmap_codec()) \
            if info.kind == "topdown" and not conversion.report["decoder"] else None
        profile = "binary"
        figures["rounding_floor"] = floor
    tolerance = TOLERANCES[profile]
    return {"inputs": len(inputs), "profile": profile, "tolerance": tolerance, **figures,
            "failures": judge(figures, tolerance)}


def convert_job(model: str | None = None, *, out=None, input_size=None,
                quantization: str = "fp32", decoder: bool = False, data: str = "synthetic",
                data_root=None, images_dir=None, check_parity: bool = True,
                full_integer: bool = False) -> dict:
    """Run the whole job (module docstring); returns the report."""
    source = load_source(model, input_size)
    out = Path(out) if out else _default_out(source, quantization, decoder)
    representative = None
    if quantization == "int8":
        calibration = model_inputs(source.info, data, data_root, split="train",
                                   count=REPRESENTATIVE_INPUTS)
        representative = lambda: iter(calibration)  # noqa: E731
    log.info("converting %s (%s, %s%s)", source.path or source.name, source.info.kind,
             quantization, ", decoder in the graph" if decoder else "")
    conversion = convert(source.model, source.info, quantization=quantization, decoder=decoder,
                         representative=representative, full_integer=full_integer)
    report = {"source": str(source.path or source.name), "output": str(out),
              **conversion.report}
    if check_parity:
        inputs = [model_inputs(source.info, data, data_root)]
        if images_dir is not None:
            inputs.append(folder_inputs(source.info, images_dir))
        report["parity"] = parity(conversion, source.info, np.concatenate(inputs), quantization)
    write_bytes_atomically(out, conversion.flatbuffer)
    write_json_atomically(out.with_suffix(".json"), report)
    failures = report.get("parity", {}).get("failures")
    if failures:
        raise ParityError(f"{out}: the converted model disagrees with the Keras model beyond "
                          f"the {report['parity']['profile']} tolerance: {'; '.join(failures)} "
                          f"(report: {out.with_suffix('.json')})")
    return report


def _default_out(source: Source, quantization: str, decoder: bool) -> Path:
    suffix = ("" if quantization == "fp32" else f"_{quantization}") + ("_decoded" if decoder
                                                                       else "")
    folder = source.path.parent if source.path else Path(".")
    return folder / f"{source.name}{suffix}.tflite"
