import os
import subprocess
import sys


def test_importing_tfpose_selects_keras_2_for_tensorflow():
    code = "import tfpose, tensorflow as tf; print(tf.keras.Model.__module__)"
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("tf_keras."), done.stdout
