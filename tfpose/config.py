"""Small frozen configs, nested by concern. Defaults carry the reason they were chosen."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AugmentConfig:
    """Top-down training augmentation (the settings of the HRNet / SimpleBaseline recipes)."""

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
