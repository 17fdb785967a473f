import pytest

from .blobs import write_blob_files


@pytest.fixture(scope="module")
def blob_files(tmp_path_factory):
    """(model .keras, clip .avi) of tests/inference/blobs.py."""
    return write_blob_files(tmp_path_factory.mktemp("video"))
