"""Two replicas on two logical CPUs must train as one device does: a loss not scaled by the
global batch would double the gradients. Run in a fresh process, because the logical devices
must be set before TensorFlow starts."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import tfpose
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import numpy as np
from {module} import train_tiny
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
plain_weights, plain_logs = train_tiny(tf.distribute.get_strategy())
mirrored_weights, mirrored_logs = train_tiny(strategy)
for plain, mirrored in zip(plain_weights, mirrored_weights, strict=True):
    np.testing.assert_allclose(mirrored, plain, rtol=1e-4, atol=1e-6)
for key in plain_logs:
    np.testing.assert_allclose(mirrored_logs[key], plain_logs[key], rtol=1e-4)
print("two replicas match")
"""


def assert_two_replicas_match(module: str) -> None:
    """``module.train_tiny(strategy) -> (weights, logs)`` gives the same weights and logs on two
    replicas as on one device."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(module=module)], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "two replicas match" in result.stdout
