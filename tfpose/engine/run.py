"""A training run on disk, and how a training script starts and ends.

Run folder (``--out``; default ``runs/<method>`` under ``$TFPOSE_RUNS``, itself ``./runs`` by
default, i.e. relative to the folder the command runs in)::

    config.json           the run's flags
    <phase>/checkpoints/  one tf.train checkpoint per epoch (model, optimiser, epoch)
    <phase>/logs/         TensorBoard (``tensorboard --logdir runs/<method>``)
    <phase>/history.json  per-epoch logs: losses, validation metrics, step
    <phase>/best.keras    the phase's best model by its validation metric
    <name>.keras          deployable models (e.g. ``teacher.keras``, ``stage1.keras``)
    model.keras           the final deployable model: what ``convert/to_lce.py`` converts
    metrics.json          final validation metrics; predictions.png; curves.png

``--resume`` continues the run in ``--out``: finished phases are restored from their last
checkpoint without training, the interrupted one continues at its next epoch with the
optimiser's state (and so the learning-rate schedule). Without ``--resume`` every phase starts
afresh and its old folder is cleared.

The main job (``python training/train_bihrnet.py``) saves its binary student at
:func:`default_model_path`, ``runs/bihrnet/model.keras``, where the converter looks by default.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import tensorflow as tf

from tfpose.engine import distribute
from tfpose.engine.callbacks import NonFiniteLoss
from tfpose.engine.distribute import ConfigError
from tfpose.errors import TfposeError
from tfpose.files import write_json_atomically

log = logging.getLogger("tfpose")

RUNS_ENV = "TFPOSE_RUNS"
MAIN_METHOD = "bihrnet"
MODEL_FILE = "model.keras"
# Flags that must not change when a run is resumed: its checkpoints depend on them.
RESUME_KEYS = ("data", "input_size", "model_size", "model_options")


def runs_root() -> Path:
    """``$TFPOSE_RUNS`` or ``runs`` (relative to the working folder)."""
    return Path(os.environ.get(RUNS_ENV, "runs"))


def default_out_dir(method: str) -> Path:
    """The default ``--out`` of ``training/train_<method>.py``."""
    return runs_root() / method


def default_model_path(method: str = MAIN_METHOD) -> Path:
    """The final model of ``method``'s default run; for the main job (BiHRNet) this is the
    binary student that ``python convert/to_lce.py`` converts by default."""
    return default_out_dir(method) / MODEL_FILE


WORKER_SCRATCH = "TFPOSE_WORKER_SCRATCH"


@dataclass
class Run:
    """A run folder with its strategy; phases and reports of one script share it.

    Attributes:
      out: the run folder.
      strategy: the tf.distribute strategy; build and compile models in ``strategy.scope()``.
      resume: continue the run found in ``out``.
      seed: the run's seed (data order, augmentation, initial weights).
      chief: whether this process writes the run's files (see :mod:`.distribute`).
    """

    out: Path
    strategy: tf.distribute.Strategy
    resume: bool = False
    seed: int = 0
    chief: bool = True
    _scratch: Path | None = field(default=None, repr=False)

    def phase_dir(self, name: str) -> Path:
        """Folder of phase ``name``; on non-chief workers a private temporary folder."""
        return self.writable(self.out / name)

    def writable(self, path) -> Path:
        """``path`` for the chief; for other workers the same path under a scratch folder (they
        take part in saving but their files are thrown away at exit), or under
        ``$TFPOSE_WORKER_SCRATCH`` when set, which is kept (to inspect a worker's files)."""
        path = Path(path)
        if self.chief:
            return path
        if self._scratch is None:
            kept = os.environ.get(WORKER_SCRATCH)
            if kept:
                self._scratch = Path(kept)
            else:
                self._scratch = Path(tempfile.mkdtemp(prefix="tfpose-worker-"))
                atexit.register(shutil.rmtree, self._scratch, ignore_errors=True)
        return self._scratch / path.relative_to(self.out)


def start_run(args, method: str) -> Run:
    """Set up logging, seeds, the strategy and the run folder from parsed flags.

    Writes ``config.json``. With ``--resume``, a previous ``config.json`` whose data, input size
    or model differ is a :class:`ConfigError` (its checkpoints would not fit).
    """
    configure_logging()
    strategy = distribute.make_strategy(args.strategy)
    distribute.per_replica_batch_size(args.batch_size, strategy)
    tf.keras.utils.set_random_seed(args.seed)
    out = Path(args.out)
    run = Run(out=out, strategy=strategy, resume=args.resume, seed=args.seed,
              chief=distribute.is_chief(strategy))
    # Round-tripped through json so that a resumed run compares like with like.
    config = json.loads(json.dumps({"method": method, **vars(args)}, default=_plain))
    if args.resume:
        _check_resumable(out / "config.json", config)
    if run.chief:
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomically(out / "config.json", config)
    log.info("%s run in %s%s; %s", method, out, " (resuming)" if args.resume else "",
             distribute.describe(strategy, args.batch_size))
    log.info("%s", distribute.describe_learning_rate(
        args.lr, getattr(args, "base_lr", args.lr), getattr(args, "lr_base_batch", None),
        args.batch_size))
    if args.strategy == "tpu" and getattr(args, "data_source", "raw") == "raw":
        log.warning("--strategy tpu with --data-source raw: the TPU hosts read every image "
                    "file on its own; prepare the dataset (`tfpose prepare`) and train with "
                    "--data-source tfds --data-dir gs://...")
    return run


def _check_resumable(path: Path, config: dict) -> None:
    if not path.is_file():
        log.info("--resume: no previous run in %s, starting a new one", path.parent)
        return
    previous = json.loads(path.read_text(encoding="utf-8"))
    changed = [key for key in RESUME_KEYS if previous.get(key) != config.get(key)]
    if changed:
        details = ", ".join(f"{k}: {previous.get(k)!r} -> {config.get(k)!r}" for k in changed)
        raise ConfigError(f"--resume: the run in {path.parent} was made with other settings "
                          f"({details}); resume with the same flags or pick another --out")


def _plain(value):
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return str(value)


def configure_logging(level: int = logging.INFO) -> None:
    """Show tfpose's INFO messages on stderr as plain lines, unless the application (or pytest)
    has configured logging itself."""
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.propagate = False  # a library may configure the root logger later: no doubles
    if log.level == logging.NOTSET:
        log.setLevel(level)


def run_main(main: Callable[[list[str] | None], object], argv: list[str] | None = None) -> int:
    """Run a training script's ``main``: errors a user can act on print as one line.

    Returns the exit status: 0 on success, 2 for bad input (:class:`~tfpose.errors.TfposeError`:
    a missing dataset, a bad flag), 1 when training diverged (:class:`NonFiniteLoss`), 130 on
    Ctrl-C. Other exceptions are bugs and keep their traceback.
    """
    try:
        main(argv)
    except KeyboardInterrupt:
        print("interrupted: the finished epochs are checkpointed; run the same command with "
              "--resume to continue", file=sys.stderr)
        return 130
    except NonFiniteLoss as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except TfposeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
