"""The model zoo: every model buildable from its name and input size alone.

``create("bihrnet_w32", input_size=(256, 192), num_keypoints=17)`` is how the CLI, tests,
conversion and benchmarks reach every model. Each entry is a plain function call with the
model's documented defaults; ``overrides`` pass through to the model's public function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import tensorflow as tf

from tfpose.models.bihrnet import bihrnet
from tfpose.models.fasterpose import fasterpose
from tfpose.models.hourglass import hourglass_bottleneck_binary, hourglass_hpm
from tfpose.models.hrnet import hrnet
from tfpose.models.litepose import litepose
from tfpose.models.simple_baseline import simple_baseline


@dataclass(frozen=True)
class ZooEntry:
    build: Callable[..., tf.keras.Model]
    input_size: tuple[int, int]  # documented default
    num_keypoints: int
    description: str
    mac_convention: str = "hrnet"  # how the model's paper counts "GFLOPs" (models/summary.py)
    # What the outputs are, for decoding an untrained zoo model (trained ones carry their codec:
    # tfpose.inference.model_info): "gaussian" or "sigmoid" heatmaps, or "bottomup".
    output: str = "gaussian"


MODELS: dict[str, ZooEntry] = {
    **{f"hrnet_w{w}": ZooEntry(partial(hrnet, width=w), (256, 192), 17,
                               f"real-valued HRNet-W{w} (BiHRNet's teacher)")
       for w in (18, 32, 48)},
    **{f"bihrnet_w{w}": ZooEntry(partial(bihrnet, width=w), (256, 192), 17,
                                 f"binary HRNet-W{w}: IR Bottleneck + MS-Block")
       for w in (18, 32)},
    "hourglass_hpm": ZooEntry(hourglass_hpm, (256, 256), 16,
                              "binary hourglass with HPM blocks (Bulat & Tzimiropoulos)",
                              output="sigmoid"),
    "hourglass_bottleneck_binary": ZooEntry(
        hourglass_bottleneck_binary, (256, 256), 16,
        "binary hourglass with plain bottleneck blocks (the HPM paper's baseline)",
        output="sigmoid"),
    **{f"litepose_{v}": ZooEntry(partial(litepose, variant=v), (size, size), 17,
                                 f"LitePose-{v.upper()}: bottom-up, 7x7 MobileNetV2-style "
                                 "backbone, fusion deconv head (heatmaps + tags at 1/4, "
                                 "heatmaps at 1/2)", mac_convention="ptflops",
                                 output="bottomup")
       for v, size in (("xs", 256), ("s", 448), ("m", 448), ("l", 512))},
    **{f"simplebaseline_r{d}": ZooEntry(partial(simple_baseline, depth=d), (256, 192), 17,
                                        f"SimpleBaseline ResNet-{d}: three deconvs to 1/4 "
                                        "(Xiao et al. 2018)")
       for d in (50, 101, 152)},
    "fasterpose": ZooEntry(
        fasterpose, (256, 192), 17,
        "FasterPose: ResNet-50, sigmoid heatmap logits at 1/8 predicted from 1/32 features "
        "(decode: HeatmapCodec(output='sigmoid', heatmap_size=(H/8, W/8), sigma=1))",
        output="sigmoid"),
}


def list_models() -> list[str]:
    return list(MODELS)


def entry(name: str) -> ZooEntry:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None


def create(name: str, *, input_size=None, num_keypoints: int | None = None,
           **overrides) -> tf.keras.Model:
    """Build zoo model ``name`` (untrained) at ``input_size`` (H, W) with K keypoints."""
    found = entry(name)
    return found.build(input_size=tuple(input_size or found.input_size),
                       num_keypoints=num_keypoints or found.num_keypoints,
                       **overrides)
