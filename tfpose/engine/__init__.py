"""What the training scripts share: data sources, strategies, checkpoints, callbacks, reports."""
