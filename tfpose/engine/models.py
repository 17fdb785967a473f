"""Models of a run: zoo models built, and saved models loaded, inside the run's strategy scope,
with one-line errors for a bad size, option or file."""

from __future__ import annotations

import zipfile
from pathlib import Path

import tensorflow as tf

from tfpose.engine.checkpoints import load_keras_model
from tfpose.engine.distribute import ConfigError
from tfpose.engine.run import Run
from tfpose.errors import DataError
from tfpose.models import create


def build_model(run: Run, name: str, args, num_keypoints: int, **options) -> tf.keras.Model:
    """Zoo model ``name`` at ``--input-size`` with the run's model options, built inside the
    strategy's scope; a bad size or option is a :class:`ConfigError`."""
    options = {**args.model_options, **options}
    with run.strategy.scope():
        try:
            return create(name, input_size=args.input_size, num_keypoints=num_keypoints,
                          **options)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"cannot build {name} with input size {args.input_size} and "
                              f"options {options}: {e}") from None


def load_model(run: Run, path: Path, what: str = "model") -> tf.keras.Model:
    """A saved ``.keras`` model (e.g. ``--teacher``), loaded inside the strategy's scope."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, f"{what} file not found (expected a .keras model saved by tfpose)")
    with run.strategy.scope():
        try:
            return load_keras_model(path)
        except (ValueError, OSError, KeyError, zipfile.BadZipFile) as e:
            raise DataError(path, f"cannot load the {what}: {e}") from None
