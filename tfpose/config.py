"""Small frozen configs, nested by concern. Defaults carry the reason they were chosen."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AugmentConfig:
    """Top-down training augmentation, sampled as the HRNet / SimpleBaseline code samples it.

    The defaults (the ``small`` presets') are ours: HRNet's COCO scale factor and half-body
    crops with SimpleBaseline's rotation factor. A preset that follows its authors names their
    settings (:attr:`tfpose.models.presets.ModelPreset.augment`).
    """

    scale_factor: float = 0.35  # box size x N(1, 0.35) clipped to [0.65, 1.35]
    rotation_factor: float = 40.0  # degrees: N(0, 40) clipped to +-80, applied with rotation_prob
    rotation_prob: float = 0.6
    flip_prob: float = 0.5
    half_body_prob: float = 0.3  # crop to the upper or lower body: teaches partial views
    half_body_min_keypoints: int = 8  # only persons with more labelled joints than this
    half_body_padding: float = 1.5

    def __post_init__(self):
        for name in ("rotation_prob", "flip_prob", "half_body_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.scale_factor < 1.0:
            raise ValueError(f"scale_factor must be in [0, 1), got {self.scale_factor}")


NO_AUGMENT = AugmentConfig(
    scale_factor=0.0, rotation_factor=0.0, rotation_prob=0.0, flip_prob=0.0, half_body_prob=0.0
)


OPTIMIZERS = ("adam", "bop")
SCHEDULES = ("cosine", "constant", "step")


@dataclass(frozen=True)
class TrainConfig:
    """One training phase: how long, how big a batch, which optimiser and learning rate.

    ``optimizer="bop"`` trains the binary (latent) kernels of Larq layers with Bop (Helwegen et
    al., NeurIPS 2019) and every other variable with Adam at ``learning_rate`` (larq's
    ``CaseOptimizer``); on a model without binary kernels it is plain Adam.
    """

    epochs: int = 10
    batch_size: int = 32  # global: split evenly over the replicas of a tf.distribute strategy
    learning_rate: float = 1e-3  # Adam's usual start for heatmap models (HRNet, SimpleBaseline)
    optimizer: str = "adam"
    schedule: str = "cosine"  # cosine decay over the whole phase: no milestones to fit to it
    final_lr_fraction: float = 0.01  # cosine ends at learning_rate x this, not at 0
    # schedule "step": the rate is multiplied by lr_step_factor at the start of each of these
    # epochs (PyTorch's MultiStepLR stepped per epoch: LitePose's and HRNet's LR_STEP, LR_FACTOR)
    lr_steps: tuple[int, ...] = ()
    lr_step_factor: float = 0.1
    warmup_steps: int = 0  # linear warm-up from 0 (helps large batches)
    steps_per_epoch: int | None = None  # None: one pass over the training persons
    bop_threshold: float = 1e-8  # Bop's defaults (larq)
    bop_gamma: float = 1e-4
    run_eagerly: bool = False  # debugging: Keras steps without tf.function

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {self.epochs} and "
                             f"{self.batch_size}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {self.steps_per_epoch}")
        if not self.learning_rate > 0 or not 0.0 <= self.final_lr_fraction <= 1.0:
            raise ValueError(f"learning_rate must be > 0 and final_lr_fraction in [0, 1], got "
                             f"{self.learning_rate} and {self.final_lr_fraction}")
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {self.warmup_steps}")
        steps = tuple(self.lr_steps)
        if self.schedule == "step":
            if not steps or min(steps) < 1 or list(steps) != sorted(set(steps)):
                raise ValueError(f"the step schedule needs increasing epochs >= 1 in lr_steps, "
                                 f"got {steps}")
            if not 0.0 < self.lr_step_factor <= 1.0 or self.warmup_steps:
                raise ValueError(f"the step schedule needs lr_step_factor in (0, 1] and no "
                                 f"warm-up, got {self.lr_step_factor} and {self.warmup_steps}")
        elif steps:
            raise ValueError(f"lr_steps are for the step schedule, not {self.schedule!r}")


@dataclass(frozen=True)
class DistillConfig:
    """BiHRNet's loss: ``kl_weight * KL(teacher || student) + heatmap_weight * AWing``.

    The paper publishes neither weight nor the temperature. The defaults and why (T = 0.1, no T²
    factor, ``kl_weight`` 0.05: about half of the gradient reaching the student's heatmaps at
    the start of stage 1, measured) are derived in :mod:`tfpose.losses.distillation`.
    """

    kl_weight: float = 0.05
    heatmap_weight: float = 1.0
    temperature: float = 0.1
    scale_by_t2: bool = False  # Hinton's T² factor on the KL (for logits at T >= 1)

    def __post_init__(self):
        if self.kl_weight < 0 or self.heatmap_weight < 0 or \
                self.kl_weight + self.heatmap_weight == 0:
            raise ValueError(f"loss weights must be >= 0 and not both 0, got kl_weight="
                             f"{self.kl_weight}, heatmap_weight={self.heatmap_weight}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
