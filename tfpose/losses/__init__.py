"""Training losses, each a ``tf.keras.losses.Loss`` registered under the package name "tfpose".

Importing this package registers every loss, so saved configs that name them load.
"""

from tfpose.losses.associative_embedding import AssociativeEmbeddingLoss
from tfpose.losses.distillation import HeatmapKLDivergence
from tfpose.losses.heatmap import (
    AdaptiveWingLoss,
    HeatmapLoss,
    KeypointMSE,
    RegressiveCrossEntropy,
    SigmoidCrossEntropy,
)

__all__ = ["AdaptiveWingLoss", "AssociativeEmbeddingLoss", "HeatmapKLDivergence", "HeatmapLoss",
           "KeypointMSE", "RegressiveCrossEntropy", "SigmoidCrossEntropy"]
