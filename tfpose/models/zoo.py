"""The model zoo: every model buildable from its name and input size alone.

``create("bihrnet_w32", input_size=(256, 192), num_keypoints=17)`` is how the CLI, tests,
conversion and benchmarks reach every model. Each entry is a plain function call with the
model's architecture arguments; its defaults (input size, sigma, output, strides) are its preset's
(:mod:`tfpose.models.presets`). ``overrides`` pass through to the model's public function.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import tensorflow as tf

from tfpose.models.bihrnet import bihrnet
from tfpose.models.fasterpose import fasterpose
from tfpose.models.hourglass import hourglass_bottleneck_binary, hourglass_hpm
from tfpose.models.hrnet import hrnet
from tfpose.models.litepose import litepose
from tfpose.models.presets import ModelPreset, zoo_presets
from tfpose.models.simple_baseline import simple_baseline


@dataclass(frozen=True)
class ZooEntry:
    build: Callable[..., tf.keras.Model]
    preset: ModelPreset  # the model's defaults (tfpose.models.<family>_presets)
    num_keypoints: int
    description: str
    mac_convention: str = "hrnet"  # how the model's paper counts "GFLOPs" (models/summary.py)

    @property
    def input_size(self) -> tuple[int, int]:
        """The documented input size (H, W)."""
        return self.preset.input_size

    @property
    def output(self) -> str:
        """What the outputs are, for decoding an untrained zoo model (trained ones carry their
        codec: tfpose.codecs.model_info): "gaussian" or "sigmoid" heatmaps, or "bottomup"."""
        return self.preset.output

    @property
    def sigma(self) -> float:
        """The Gaussian sigma of the targets, in heatmap pixels."""
        return self.preset.sigma


PRESETS = zoo_presets()
MODELS: dict[str, ZooEntry] = {
    **{f"hrnet_w{w}": ZooEntry(partial(hrnet, width=w), PRESETS[f"hrnet_w{w}"], 17,
                               f"real-valued HRNet-W{w} (BiHRNet's teacher)")
       for w in (18, 32, 48)},
    **{f"bihrnet_w{w}": ZooEntry(partial(bihrnet, width=w), PRESETS[f"bihrnet_w{w}"], 17,
                                 f"binary HRNet-W{w}: IR Bottleneck + MS-Block")
       for w in (18, 32)},
    "hourglass_hpm": ZooEntry(hourglass_hpm, PRESETS["hourglass_hpm"], 16,
                              "binary hourglass with HPM blocks (Bulat & Tzimiropoulos)"),
    "hourglass_bottleneck_binary": ZooEntry(
        hourglass_bottleneck_binary, PRESETS["hourglass_bottleneck_binary"], 16,
        "binary hourglass with plain bottleneck blocks (the HPM paper's baseline)"),
    **{f"litepose_{v}": ZooEntry(partial(litepose, variant=v), PRESETS[f"litepose_{v}"], 17,
                                 f"LitePose-{v.upper()}: bottom-up, 7x7 MobileNetV2-style "
                                 "backbone, fusion deconv head (heatmaps + tags at 1/4, "
                                 "heatmaps at 1/2)", mac_convention="ptflops")
       for v in ("xs", "s", "m", "l")},
    **{f"simplebaseline_r{d}": ZooEntry(partial(simple_baseline, depth=d),
                                        PRESETS[f"simplebaseline_r{d}"], 17,
                                        f"SimpleBaseline ResNet-{d}: three deconvs to 1/4 "
                                        "(Xiao et al. 2018)")
       for d in (50, 101, 152)},
    "fasterpose": ZooEntry(
        fasterpose, PRESETS["fasterpose"], 17,
        "FasterPose: ResNet-50, sigmoid heatmap logits at 1/8 predicted from 1/32 features "
        "(decode: HeatmapCodec(output='sigmoid', heatmap_size=(H/8, W/8), sigma=1))"),
}


def list_models() -> list[str]:
    return list(MODELS)


# HRNet and BiHRNet come in any width (HRNetConfig): ``hrnet_w16`` is HRNet-W32's entry at
# width 16, as the training scripts' small preset builds it. The listed widths are the papers'.
ANY_WIDTH = re.compile(r"(?P<family>hrnet|bihrnet)_w(?P<width>[1-9][0-9]*)")


def entry(name: str) -> ZooEntry:
    if name in MODELS:
        return MODELS[name]
    any_width = ANY_WIDTH.fullmatch(name)
    if any_width:
        family, width = any_width["family"], int(any_width["width"])
        found = MODELS[f"{family}_w32"]
        return replace(found, build=partial(found.build, width=width),
                       description=found.description.replace("W32", f"W{width}"))
    raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)} (HRNet and BiHRNet "
                     "at any width: hrnet_wN, bihrnet_wN)")


def create(name: str, *, input_size=None, num_keypoints: int | None = None,
           **overrides) -> tf.keras.Model:
    """Build zoo model ``name`` (untrained) at ``input_size`` (H, W) with K keypoints."""
    found = entry(name)
    return found.build(input_size=tuple(input_size or found.input_size),
                       num_keypoints=num_keypoints or found.num_keypoints,
                       **overrides)
