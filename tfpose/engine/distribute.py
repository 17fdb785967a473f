"""Distribution strategies for ``--strategy default|mirrored|multiworker|tpu`` (tf.distribute).

* ``default``: one device (TensorFlow's default strategy).
* ``mirrored``: synchronous data parallelism over the local GPUs, or over the logical CPU
  devices when there is no GPU (tests split one CPU into two logical devices).
* ``multiworker``: ``MultiWorkerMirroredStrategy``: every host runs the same command with its own
  ``TF_CONFIG``, e.g. on two hosts::

      TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                  "task": {"type": "worker", "index": 0}}' python training/train_bihrnet.py ...

  (``"index": 1`` on the second host). Worker 0 is the chief: it alone writes checkpoints,
  TensorBoard logs and reports; the other workers write theirs to temporary folders (all
  workers must take part in saving, since variables may be synchronised while they are read).
  With ``--resume`` every worker restores the chief's latest checkpoint, so ``--out`` must be
  readable from every host (a shared file system or ``gs://``).
* ``tpu``: ``TPUStrategy`` on the TPU named by ``$TPU_NAME`` (empty: the local TPU VM). Data must
  be readable from the TPU hosts (e.g. ``gs://`` paths). Not testable here.

``--batch-size`` is the *global* batch: each of the ``R`` replicas gets ``batch / R`` examples, and
the losses average over the global batch, so the gradients equal single-device ones. The
learning rate is used as given, unless ``--lr-base-batch N`` asks for the linear scaling rule
(``lr x batch / N``, Goyal et al. 2017). Workers split the input by example (auto-shard policy
``DATA``, :func:`tfpose.engine.training.distributable`): every worker reads the whole input
and keeps its share of the elements, which works for in-memory records and for prepared
datasets with any number of files. Replicas, batches, learning rate and sharding are logged at
the start of a run.
"""

from __future__ import annotations

import json
import logging
import os

import tensorflow as tf

from tfpose.errors import TfposeError

log = logging.getLogger("tfpose")

STRATEGIES = ("default", "mirrored", "multiworker", "tpu")


class ConfigError(TfposeError):
    """A flag or a flag combination that cannot work, named with what to do instead."""


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy for ``--strategy name`` (see the module docstring)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError("--strategy multiworker reads the cluster from the TF_CONFIG "
                              "environment variable, which is not set (see "
                              "tfpose.engine.distribute)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
                tpu=os.environ.get("TPU_NAME", ""))
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, tf.errors.OpError) as e:
            raise ConfigError(f"--strategy tpu: no TPU found ({e}); set TPU_NAME") from None
        return tf.distribute.TPUStrategy(resolver)
    raise ConfigError(f"--strategy must be one of {STRATEGIES}, got {name!r}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files (always, except on non-chief workers)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type in (None, "chief"):
        return True
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    return task_type == "worker" and task_id == 0 and "chief" not in cluster


def per_replica_batch_size(global_batch: int, strategy: tf.distribute.Strategy) -> int:
    """``global_batch / replicas``, or a ConfigError when it does not divide evenly."""
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
        raise ConfigError(f"--batch-size {global_batch} is the global batch and must be a "
                          f"multiple of the {replicas} replicas")
    return global_batch // replicas


def num_workers(strategy: tf.distribute.Strategy) -> int:
    """Hosts taking part (1 unless multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 1
    spec = resolver.cluster_spec()
    return sum(spec.num_tasks(job) for job in ("chief", "worker") if job in spec.jobs)


def describe(strategy: tf.distribute.Strategy, global_batch: int) -> str:
    replicas = strategy.num_replicas_in_sync
    workers = num_workers(strategy)
    sharding = (f"; input auto-sharded by DATA over {workers} workers" if workers > 1 else "")
    name = type(strategy).__name__
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        name = "MultiWorkerMirroredStrategy"  # not its implementation class's name
    return (f"{name} with {replicas} replica(s) on {workers} worker(s); "
            f"global batch {global_batch} = {replicas} x {global_batch // max(replicas, 1)} "
            f"per replica{sharding}")


def describe_learning_rate(lr: float, base_lr: float, base_batch: int | None,
                           global_batch: int) -> str:
    if base_batch:
        return (f"learning rate {lr:g} for global batch {global_batch} (linear scaling of "
                f"{base_lr:g} at batch {base_batch})")
    return f"learning rate {lr:g} for global batch {global_batch} (as given, not scaled)"
