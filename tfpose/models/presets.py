"""Model presets: the one owner of each model's defaults, as plain data beside the zoo.

Each model family has a ``<family>_presets.py`` module here (as keras-hub keeps
``*_presets.py`` beside each model) with two dicts of :class:`ModelPreset`:

* ``PRESETS``: the sizes its training script offers as ``--model-size`` (``small`` trains in
  minutes on a CPU, ``paper`` or a variant name is the published configuration); a family
  without a training script of its own has only its published configuration;
* ``ZOO_PRESETS``: zoo model name -> the preset whose input size, sigma, output and strides are
  that zoo model's defaults (:mod:`tfpose.models.zoo`, :func:`tfpose.codecs.model_info.zoo_info`,
  ``tfpose convert`` of an untrained zoo model).

The presets modules import neither TensorFlow nor the model-building code, so that any layer
(codecs, export, the training flags) may read them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache

OUTPUTS = ("gaussian", "sigmoid", "bottomup")
# The <family>_presets modules, in the zoo's order.
FAMILIES = ("hrnet", "bihrnet", "hourglass", "litepose", "simple_baseline", "fasterpose")


@dataclass(frozen=True)
class ModelPreset:
    """A model's defaults for one size.

    Attributes:
      input_size: model input (H, W).
      sigma: Gaussian sigma of the targets, in heatmap pixels.
      epochs, batch_size, learning_rate: training defaults (None: no training script of its
        own trains the model).
      schedule, lr_steps: the default learning-rate schedule (:data:`tfpose.config.SCHEDULES`)
        and, for ``"step"``, the epochs at which the rate drops 10x.
      options: keyword arguments the training script passes to :func:`tfpose.models.create`.
      output: what the outputs are: ``"gaussian"`` or ``"sigmoid"`` heatmaps (top-down), or
        ``"bottomup"`` (heatmaps and associative-embedding tags).
      strides: input pixels per heatmap pixel: one for top-down heatmaps, one per output for
        bottom-up models.
      augment: training augmentation, as keyword arguments of
        :class:`tfpose.config.AugmentConfig` (top-down) or
        :class:`tfpose.data.bottomup.BottomUpAugmentConfig` (bottom-up); empty: that class's
        defaults. Plain data, checked where it is used, like ``schedule``.
    """

    input_size: tuple[int, int]
    sigma: float
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    schedule: str = "cosine"
    lr_steps: tuple[int, ...] = ()
    options: dict = field(default_factory=dict)
    output: str = "gaussian"
    strides: tuple[int, ...] = (4,)
    augment: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if not self.strides:
            raise ValueError("strides must name at least one stride")
        # The schedule's name is checked where it is used (tfpose.config.TrainConfig): these
        # modules import nothing else of tfpose.
        if bool(self.lr_steps) != (self.schedule == "step"):
            raise ValueError(f"lr_steps go with the step schedule and it needs them; got "
                             f"schedule {self.schedule!r} and lr_steps {self.lr_steps}")

    @property
    def stride(self) -> int:
        """The heatmap stride (top-down), or the first output's (bottom-up)."""
        return self.strides[0]


@cache
def zoo_presets() -> dict[str, ModelPreset]:
    """Every zoo model's preset, by zoo name (the families' ``ZOO_PRESETS``)."""
    presets = {}
    for family in FAMILIES:
        presets.update(importlib.import_module(f"tfpose.models.{family}_presets").ZOO_PRESETS)
    return presets


def zoo_preset(name: str) -> ModelPreset:
    """The preset of zoo model ``name``; a ValueError names the known models."""
    presets = zoo_presets()
    try:
        return presets[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(presets)}") from None
