"""Shared fixtures: paths of the real dataset samples (skipped when ../shared/data is absent)."""

from pathlib import Path

import pytest

import tfpose  # noqa: F401  (selects Keras 2 before any test imports TensorFlow)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real dataset sample {path} is absent (it sits beside the project, not in it)")
    return path


@pytest.fixture
def shared_data() -> Path:
    return _require(SHARED_DATA)


@pytest.fixture
def coco_sample(shared_data) -> Path:
    return _require(shared_data / "coco_sample")


@pytest.fixture
def coco_mini_train(shared_data) -> Path:
    return _require(shared_data / "coco_mini_train")


@pytest.fixture
def mpii_sample(shared_data) -> Path:
    return _require(shared_data / "mpii_sample")


@pytest.fixture
def crowdpose_sample(shared_data) -> Path:
    return _require(shared_data / "crowdpose_sample")
