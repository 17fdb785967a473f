"""Published checkpoints into tfpose models: ``tfpose import-weights``, ``--teacher`` and
``--init`` of the training scripts.

:func:`read_checkpoint` reads a file and recognises its layout; :func:`initialise` fills a model
built from the zoo (adopting the input convention the weights were trained with);
:func:`import_model` does both for a model it builds itself, with the model information a
saved ``.keras`` carries; :func:`import_weights` is the command: it writes the ``.keras`` only
when every tensor found its weight.

Imported models take RGB images in [0, 255] like every tfpose model: the normalisation the
reference applied (and, for weights trained on BGR images, the channel order, folded into the
first conv) happens in the graph.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.codecs.model_info import (
    ModelInfo,
    bottomup_info,
    topdown_info,
    zoo_info,
)
from tfpose.errors import DataError
from tfpose.keypoints import KEYPOINT_SETS
from tfpose.layers.common import NORMALIZE, RGB_MEAN, RGB_STD, with_input_normalization
from tfpose.models.litepose import VARIANTS
from tfpose.models.zoo import MODELS, create, entry
from tfpose.runtime.keras_files import load_keras_file, save_model_atomically
from tfpose.weights.keymaps import KeyMap, keymap_for
from tfpose.weights.layouts import Layout, recognise
from tfpose.weights.reading import read_state_dict
from tfpose.weights.transfer import (
    FillReport,
    WeightsMismatch,
    copy_weights,
    fill_model,
    reverse_input_channels,
)

log = logging.getLogger("tfpose")

RESNET_DEPTH_BY_BLOCKS = {6: 50, 23: 101, 36: 152}  # bottlenecks in ResNet's third stage
AUTHORS_SIGMA_AT_64 = 2.0  # the HRNet / SimpleBaseline configs: sigma 2 at 64x48, 3 at 96x72
# How HRNet / SimpleBaseline weights (theirs, and mmpose's MSRAHeatmap ones) were trained and
# are decoded: their pixel convention and get_final_preds' argmax + quarter step.
AUTHORS_CONVENTION = {"convention": "msra", "decoder": "quarter"}


@dataclass
class Checkpoint:
    """A read checkpoint: its file, layout and tensors under the reference names."""

    path: Path
    layout: Layout
    state: dict[str, np.ndarray]

    @property
    def num_keypoints(self) -> int | None:
        """K of a pose checkpoint (its last layer's outputs), None for a backbone."""
        last = {"hrnet": "final_layer.weight", "simplebaseline": "final_layer.weight",
                "litepose": "final_refined.1.conv.3.weight"}.get(self.layout.architecture)
        if not self.layout.whole or last not in self.state:
            return None
        return int(self.state[last].shape[0])

    def suggested_model(self) -> str | None:
        """The zoo model these weights are, from their shapes (None when unsure)."""
        arch, state = self.layout.architecture, self.state
        if arch == "hrnet" and "transition1.0.0.weight" in state:
            return f"hrnet_w{state['transition1.0.0.weight'].shape[0]}"
        if arch in ("simplebaseline", "resnet"):
            blocks = {m[1] for key in state if (m := re.match(r"layer3\.(\d+)\.", key))}
            depth = RESNET_DEPTH_BY_BLOCKS.get(len(blocks))
            return f"simplebaseline_r{depth}" if depth else None
        if arch == "litepose":
            return _litepose_variant(state)
        return None


def read_checkpoint(path) -> Checkpoint:
    """Read ``path`` (:mod:`tfpose.weights.reading`) and recognise its layout."""
    path = Path(path)
    layout, state = recognise(read_state_dict(path), path)
    log.debug("%s: %s, %d tensors", path, layout.source, len(state))
    return Checkpoint(path, layout, state)


def check_fits(model_name: str, checkpoint: Checkpoint) -> KeyMap:
    """The key map of zoo model ``model_name``, or :class:`WeightsMismatch` when the checkpoint
    is of another kind of network (before anything is built)."""
    keymap, layout = keymap_for(model_name), checkpoint.layout
    if keymap is None:
        raise WeightsMismatch(checkpoint.path, f"{model_name} has no published weights to "
                              f"import; tfpose imports into {', '.join(_importable())}")
    if layout.architecture not in keymap.accepts:
        suggested = checkpoint.suggested_model()
        hint = f" (it fits {suggested})" if suggested else ""
        raise WeightsMismatch(checkpoint.path, f"holds {layout.source}{hint}, which does not "
                              f"fit --model {model_name}")
    return keymap


def initialise(model: tf.keras.Model, model_name: str,
               checkpoint: Checkpoint) -> tuple[tf.keras.Model, FillReport]:
    """Fill ``model`` (zoo model ``model_name``, built with ``checkpoint.layout.model_options``)
    from ``checkpoint``; returns the model (rebuilt when the weights need other input
    statistics) and what was filled. Raises :class:`WeightsMismatch` when they do not fit."""
    keymap, layout = check_fits(model_name, checkpoint), checkpoint.layout
    state = checkpoint.state
    if layout.input.channel_order == "bgr":
        state = reverse_input_channels(state, keymap.first_conv)
    mean, std = layout.input.for_rgb_input()
    if (tuple(mean), tuple(std)) != (RGB_MEAN, RGB_STD):
        model = with_input_normalization(model, mean, std)
    try:
        report = fill_model(model, state, keymap, layout, checkpoint.path)
    except WeightsMismatch as e:
        suggested = checkpoint.suggested_model()
        if suggested is None or suggested == model_name:
            raise
        raise WeightsMismatch(checkpoint.path, f"{e.problem}; the checkpoint looks like "
                              f"{suggested}") from None
    log.info("filled %d layers of %s from %s%s", len(report.filled), model_name,
             checkpoint.path.name,
             f"; left as initialised: {_summarise(report.left)}" if report.left else "")
    return model, report


@dataclass
class StartingPoint:
    """What ``--init`` starts a model from: a published checkpoint, or a tfpose ``.keras``
    model (saved by ``tfpose import-weights`` or a training run), and the model options its
    weights need."""

    path: Path
    checkpoint: Checkpoint | None = None
    saved: tf.keras.Model | None = None
    model_options: dict | None = None


def read_starting_point(path, model_name: str) -> StartingPoint:
    """Read ``path`` for :func:`start_from` and check it fits zoo model ``model_name`` before
    anything is built (:class:`WeightsMismatch` otherwise)."""
    path = Path(path)
    if path.suffix != ".keras":
        checkpoint = read_checkpoint(path)
        check_fits(model_name, checkpoint)
        return StartingPoint(path, checkpoint, model_options=checkpoint.layout.model_options)
    saved, info = load_keras_file(path)
    options = ((info.extra.get("weights") or {}).get("model_options") or {}) if info else {}
    return StartingPoint(path, saved=saved, model_options=options)


def start_from(model: tf.keras.Model, model_name: str,
               start: StartingPoint) -> tuple[tf.keras.Model, FillReport]:
    """``model`` filled from ``start`` (see :func:`initialise`; a saved model gives every layer
    its weights and its input statistics)."""
    if start.checkpoint is not None:
        return initialise(model, model_name, start.checkpoint)
    normalize = start.saved.get_layer(NORMALIZE).get_config()
    if normalize != model.get_layer(NORMALIZE).get_config():
        model = with_input_normalization(model, normalize["mean"],
                                         [v**0.5 for v in normalize["variance"]])
    report = copy_weights(start.saved, model, start.path)
    log.info("filled %d layers of %s from %s", len(report.filled), model_name, start.path.name)
    return model, report


@dataclass
class Imported:
    """A model built and filled from a checkpoint, with its model information."""

    model: tf.keras.Model
    info: ModelInfo
    checkpoint: Checkpoint
    report: FillReport


def import_model(path, model_name: str | None = None, *, input_size=None,
                 num_keypoints: int | None = None) -> Imported:
    """Build zoo model ``model_name`` (default: the one the checkpoint's shapes say) at
    ``input_size`` and fill it from the checkpoint at ``path``."""
    checkpoint = read_checkpoint(path)
    model_name = model_name or checkpoint.suggested_model()
    if model_name is None:
        raise DataError(path, "cannot tell which model these weights are: name it (--model)")
    if model_name not in MODELS:
        raise DataError(f"--model {model_name}", f"unknown model; known: {', '.join(MODELS)}")
    check_fits(model_name, checkpoint)
    k = _num_keypoints(checkpoint, num_keypoints, model_name)
    try:
        model = create(model_name, input_size=input_size, num_keypoints=k,
                       **checkpoint.layout.model_options)
    except ValueError as e:
        raise DataError(f"--model {model_name}", str(e)) from None
    model, report = initialise(model, model_name, checkpoint)
    return Imported(model, _info(model, model_name, checkpoint), checkpoint, report)


def import_weights(path, model_name: str, *, out, input_size=None,
                   num_keypoints: int | None = None) -> dict:
    """``tfpose import-weights``: the checkpoint at ``path`` as a tfpose ``.keras`` model at
    ``out`` (nothing is written unless every tensor fits); returns the summary it prints."""
    out = Path(out)
    if out.suffix != ".keras":
        raise DataError(out, "the output must be a .keras file")
    imported = import_model(path, model_name, input_size=input_size,
                            num_keypoints=num_keypoints)
    save_model_atomically(imported.model, out, imported.info)
    checkpoint, report, info = imported.checkpoint, imported.report, imported.info
    return {"checkpoint": str(checkpoint.path), "layout": checkpoint.layout.name,
            "source": checkpoint.layout.source, "model": model_name, "output": str(out),
            "input_size": list(info.input_size), "keypoints": info.keypoints,
            "kind": info.kind, "tensors": report.tensors, "filled_layers": len(report.filled),
            "left_layers": report.left, "unused": report.unused,
            "input_convention": checkpoint.layout.input.channel_order}


def _num_keypoints(checkpoint: Checkpoint, requested: int | None, model_name: str) -> int:
    found = checkpoint.num_keypoints
    if found is not None and requested is not None and found != requested:
        raise WeightsMismatch(checkpoint.path, f"predicts {found} keypoints, "
                              f"--num-keypoints says {requested}")
    return found or requested or entry(model_name).num_keypoints


def _info(model: tf.keras.Model, model_name: str, checkpoint: Checkpoint) -> ModelInfo:
    """A pose checkpoint's codec is its authors' (Gaussian targets, sigma 2 at 64x48, at 1/4,
    decoded by their pixel convention and quarter step, :data:`AUTHORS_CONVENTION`; LitePose: its
    published preset's, 1/4 and 1/2, sigma 2, HigherHRNet's pixel convention); an initialised
    backbone gets the zoo model's defaults (its preset's), since tfpose trains it."""
    weights = {"layout": checkpoint.layout.name, "source": checkpoint.layout.source,
               "checkpoint": checkpoint.path.name,
               "model_options": checkpoint.layout.model_options}
    height, width = (int(v) for v in model.input_shape[1:3])
    if not checkpoint.layout.whole:
        info = zoo_info(model, model_name, source=checkpoint.path)
    elif checkpoint.layout.architecture == "litepose":
        preset = entry(model_name).preset
        codec = BottomUpCodec(input_size=(height, width), strides=preset.strides,
                              sigma=preset.sigma, convention="msra")
        info = bottomup_info(codec, _keypoint_set(model.outputs[1].shape[-1], checkpoint),
                             model.name)
    else:
        h, w, k = model.output_shape[1:]
        codec = HeatmapCodec(input_size=(height, width), heatmap_size=(h, w),
                             sigma=AUTHORS_SIGMA_AT_64 * h / 64, **AUTHORS_CONVENTION)
        info = topdown_info(codec, _keypoint_set(k, checkpoint), model.name)
    return info.replace(model=model_name, extra={**info.extra, "weights": weights})


def _keypoint_set(count: int, checkpoint: Checkpoint):
    found = [s for s in KEYPOINT_SETS.values() if s.num_keypoints == count]
    if not found:
        known = ", ".join(f"{s.name} ({s.num_keypoints})" for s in KEYPOINT_SETS.values())
        raise WeightsMismatch(checkpoint.path, f"predicts {count} keypoints; tfpose knows the "
                              f"sets {known}")
    return found[0]


def _litepose_variant(state) -> str | None:
    try:
        stem = state["first.2.weight"].shape[0]
        channels = tuple(state[f"stage.{s}.0.point_conv.0.weight"].shape[0] for s in range(4))
    except KeyError:
        return None
    for name, config in VARIANTS.items():
        if (config.stem_width, tuple(config.stage_channels)) == (stem, channels):
            return f"litepose_{name}"
    return None


def _importable() -> list[str]:
    return [name for name in MODELS if keymap_for(name) is not None]


def _summarise(names: list[str], shown: int = 4) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
