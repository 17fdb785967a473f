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


def test_tensorflow_imported_first_is_a_warning_not_a_crash():
    code = "import tensorflow, tfpose"
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    done = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "TensorFlow was imported before tfpose without TF_USE_LEGACY_KERAS=1" in done.stderr


def test_saved_models_load_with_keras_after_import_tfpose_alone(tmp_path):
    """Our own layers (DepthToSpace, RPReLU, LearnableBias) are registered by ``import tfpose``,
    so plain Keras reads every tfpose model."""
    from tfpose.models import create

    paths = []
    for name, options in (("fasterpose", {}), ("bihrnet_w18", {"width": 8, "modules": (1, 1, 1),
                                                               "branch_blocks": 1,
                                                               "stage1_blocks": 1})):
        path = tmp_path / f"{name}.keras"
        create(name, input_size=(64, 64), **options).save(path)
        paths.append(str(path))
    code = ("import tfpose, tensorflow as tf\n"
            f"for path in {paths!r}:\n"
            "    print(tf.keras.models.load_model(path, compile=False).output_shape)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["(None, 8, 8, 17)", "(None, 16, 16, 17)"]
