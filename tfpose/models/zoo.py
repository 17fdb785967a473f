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
from tfpose.models.hourglass import hourglass_bottleneck_binary, hourglass_hpm
from tfpose.models.hrnet import hrnet


@dataclass(frozen=True)
class ZooEntry:
    build: Callable[..., tf.keras.Model]
    input_size: tuple[int, int]  # documented default
    num_keypoints: int
    description: str


MODELS: dict[str, ZooEntry] = {
    **{f"hrnet_w{w}": ZooEntry(partial(hrnet, width=w), (256, 192), 17,
                               f"real-valued HRNet-W{w} (BiHRNet's teacher)")
       for w in (18, 32, 48)},
    **{f"bihrnet_w{w}": ZooEntry(partial(bihrnet, width=w), (256, 192), 17,
                                 f"binary HRNet-W{w}: IR Bottleneck + MS-Block")
       for w in (18, 32)},
    "hourglass_hpm": ZooEntry(hourglass_hpm, (256, 256), 16,
                              "binary hourglass with HPM blocks (Bulat & Tzimiropoulos)"),
    "hourglass_bottleneck_binary": ZooEntry(
        hourglass_bottleneck_binary, (256, 256), 16,
        "binary hourglass with plain bottleneck blocks (the HPM paper's baseline)"),
}


def list_models() -> list[str]:
    return list(MODELS)


def create(name: str, *, input_size=None, num_keypoints: int | None = None,
           **overrides) -> tf.keras.Model:
    """Build zoo model ``name`` (untrained) at ``input_size`` (H, W) with K keypoints."""
    try:
        entry = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None
    return entry.build(input_size=tuple(input_size or entry.input_size),
                       num_keypoints=num_keypoints or entry.num_keypoints,
                       **overrides)
