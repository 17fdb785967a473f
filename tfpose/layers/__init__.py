"""Keras building blocks: binary units and the blocks of each model family."""
