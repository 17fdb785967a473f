"""Models of a run: zoo models built (optionally started from a published checkpoint,
``--init``), and saved models or published checkpoints loaded (``--teacher``), inside the run's
strategy scope, with one-line errors for a bad size, option or file."""

from __future__ import annotations

import logging
from pathlib import Path

import tensorflow as tf

from tfpose.engine.distribute import ConfigError
from tfpose.engine.run import Run
from tfpose.errors import DataError
from tfpose.models import create
from tfpose.runtime.keras_files import load_keras_file
from tfpose.weights import import_model, read_starting_point, start_from

log = logging.getLogger("tfpose")


def build_model(run: Run, name: str, args, num_keypoints: int, *, init: Path | None = None,
                **options) -> tf.keras.Model:
    """Zoo model ``name`` at ``--input-size`` with the run's model options, built inside the
    strategy's scope; a bad size or option is a :class:`ConfigError`.

    ``init`` (``--init``): weights to start from (:mod:`tfpose.weights`): a published
    checkpoint (a whole pose network of the same kind, or an ImageNet backbone whose head stays
    as initialised) or a tfpose ``.keras`` model of the same architecture. The model options its
    weights need (ResNet v1 for Keras' ResNets) join the run's.
    """
    start = read_starting_point(init, name) if init else None
    options = {**args.model_options, **options}
    if start and start.model_options:
        log.info("%s needs model options %s", init, start.model_options)
        options.update(start.model_options)
    with run.strategy.scope():
        try:
            model = create(name, input_size=args.input_size, num_keypoints=num_keypoints,
                           **options)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"cannot build {name} with input size {args.input_size} and "
                              f"options {options}: {e}") from None
        if start:
            model, _ = start_from(model, name, start)
    return model


def load_model(run: Run, path: Path, what: str = "model", *, input_size=None,
               num_keypoints: int | None = None) -> tf.keras.Model:
    """A saved ``.keras`` model (e.g. ``--teacher``) or a published checkpoint (``.pth``,
    ``.safetensors``, ``.h5``: imported as the zoo model its shapes say, at ``input_size`` with
    ``num_keypoints``), loaded inside the strategy's scope."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, f"{what} file not found (expected a .keras model saved by tfpose "
                        "or a published checkpoint)")
    if path.suffix != ".keras":
        with run.strategy.scope():
            imported = import_model(path, input_size=input_size, num_keypoints=num_keypoints)
        if not imported.checkpoint.layout.whole:
            raise DataError(path, f"holds {imported.checkpoint.layout.source}, a backbone "
                            f"without a trained pose head: it cannot be the {what} (--init "
                            "starts a model from it)")
        log.info("%s: %s imported from %s", what, imported.info.model, path)
        return imported.model
    with run.strategy.scope():
        return load_keras_file(path, what)[0]
