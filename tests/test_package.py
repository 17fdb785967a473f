import os
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement


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


def install_requires() -> list[tuple[list[str], Requirement]]:
    """setup.cfg's requirements, each with the comment lines just above it (read as text:
    configparser drops comments)."""
    lines = (Path(__file__).parents[1] / "setup.cfg").read_text().splitlines()
    start = lines.index("install_requires =") + 1
    entries, comments = [], []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break  # the next key
        line = line.strip()
        if line.startswith("#"):
            comments.append(line)
        elif line:
            entries.append((comments, Requirement(line)))
            comments = []
    return entries


def test_dependencies_are_ranges_and_every_upper_bound_says_why():
    for comments, requirement in install_requires():
        operators = {spec.operator for spec in requirement.specifier}
        assert "==" not in operators and ">=" in operators, requirement
        if "<" in operators or "<=" in operators:
            assert comments, f"{requirement}: an upper bound needs a comment saying what breaks"
    newer = {"tqdm": "5.0", "matplotlib": "4.0", "scipy": "2.0", "opencv-python-headless": "5.0"}
    by_name = {r.name: r for _, r in install_requires()}
    for name, version in newer.items():  # a user's newer release is kept, not downgraded
        assert by_name[name].specifier.contains(version), name


def test_what_has_no_linux_arm64_wheel_is_marked_out_there_only():
    arm64 = {"platform_system": "Linux", "platform_machine": "aarch64"}
    x86 = {"platform_system": "Linux", "platform_machine": "x86_64"}
    mac = {"platform_system": "Darwin", "platform_machine": "arm64"}
    for _, requirement in install_requires():
        if requirement.name in ("larq-compute-engine", "xtcocotools"):
            assert not requirement.marker.evaluate(arm64)
            assert requirement.marker.evaluate(x86) and requirement.marker.evaluate(mac)
        else:
            assert requirement.marker is None, requirement


def test_ci_installs_the_exact_versions_of_constraints_txt():
    root = Path(__file__).parents[1]
    pins = [line for line in (root / "constraints.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert pins and all(line.count("==") == 1 for line in pins)
    names = {line.split("==")[0].lower() for line in pins}
    assert {"tensorflow", "larq", "larq-compute-engine", "numpy", "scipy"} <= names
    assert "-c constraints.txt" in (root / ".ci" / "run").read_text()
