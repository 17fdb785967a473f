import numpy as np
import pytest

from tfpose.models.hrnet import hrnet
from tfpose.models.summary import model_summary

# Published (Sun et al. 2019, 256x192): params and "GFLOPs" (MACs / 1024^3 in their code).
PUBLISHED = {32: (28.5e6, 7.1), 48: (63.6e6, 14.6)}


@pytest.mark.parametrize("width", [32, 48])
def test_matches_published_size_and_cost(width):
    summary = model_summary(hrnet(width=width, input_size=(256, 192)), "hrnet")
    params, gmacs = PUBLISHED[width]
    assert summary["params"] == pytest.approx(params, rel=0.01)
    assert summary["gmacs_convention"] == pytest.approx(gmacs, rel=0.05)
    assert summary["binary_macs"] == 0


def test_snapshot_w32():
    """Exact counts, so a structural change shows up in review."""
    summary = model_summary(hrnet(width=32, input_size=(256, 192)))
    assert (summary["params"], summary["macs"]) == (28_536_113, 7_645_003_776)


def test_output_layout_and_sizes():
    model = hrnet(width=18, input_size=(128, 96), num_keypoints=16, modules=(1, 1, 1),
                  branch_blocks=1)
    out = model(np.zeros((2, 128, 96, 3), np.float32))
    assert out.shape == (2, 32, 24, 16) and out.dtype.name == "float32"
    with pytest.raises(ValueError, match="multiples of 32"):
        hrnet(width=18, input_size=(100, 96))
