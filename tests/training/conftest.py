"""Fixtures of the training-script tests."""

import pytest


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One synthetic-data cache per test module (generating it is part of the first run)."""
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TFPOSE_CACHE", str(path))
        yield path
