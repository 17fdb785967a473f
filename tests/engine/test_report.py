import cv2
import numpy as np
import pytest

from tfpose.engine.report import plot_curves, results_table, save_prediction_grid
from tfpose.keypoints import COCO_17


def test_prediction_grid_upscales_and_tiles_the_crops(tmp_path):
    crops = np.full((3, 16, 12, 3), 40, np.uint8)
    keypoints = np.zeros((3, 17, 3), np.float32)
    keypoints[..., :2] = (6, 8)
    keypoints[:2, :, 2] = 0.5  # the third crop's joints have score 0: not drawn
    path = save_prediction_grid(tmp_path / "grid.png", crops, keypoints, COCO_17, columns=2)
    grid = cv2.imread(str(path))
    assert grid.shape == (2 * 16 * 3, 2 * 12 * 3, 3)
    assert (grid[:48] != 40).any(axis=-1).sum() > 0  # skeletons drawn
    assert (grid[48:, :36] == 40).all()  # nothing drawn on the third crop
    assert (grid[48:, 36:] == 0).all()  # the blank fourth cell
    with pytest.raises(ValueError, match="no crops"):
        save_prediction_grid(tmp_path / "none.png", crops[:0], keypoints[:0], COCO_17)


def test_prediction_grid_draws_several_persons_per_image(tmp_path):
    images = np.zeros((2, 20, 20, 3), np.uint8)
    persons = [np.zeros((0, 17, 3)), np.full((2, 17, 3), 5.0)]  # none, then two persons
    path = save_prediction_grid(tmp_path / "grid.png", images, persons, COCO_17, scale=1)
    grid = cv2.imread(str(path))
    assert grid.shape == (20, 40, 3)
    assert not grid[:, :20].any() and grid[:, 20:].any()


def test_curves_plot_every_phase(tmp_path):
    histories = {
        "teacher": [{"epoch": 1, "step": 5, "lr": 1e-3, "loss": 2.0, "val_PCK@0.5": 0.1},
                    {"epoch": 2, "step": 10, "lr": 1e-4, "loss": 1.0, "val_PCK@0.5": 0.3}],
        "stage1": [{"epoch": 1, "step": 5, "loss": 3.0, "kl": 0.5, "awing": 2.5,
                    "val_PCK@0.5": 0.2}],
        "skipped": [],
    }
    path = plot_curves(tmp_path / "curves.png", histories, "PCK@0.5")
    image = cv2.imread(str(path))
    assert image.shape[1] > image.shape[0]  # two phase columns side by side
    with pytest.raises(ValueError, match="no finished epoch"):
        plot_curves(tmp_path / "none.png", {"a": []}, "PCK@0.5")


def test_results_table_shows_percentages():
    table = results_table({"baseline": {"PCK@0.5": 0.05}, "model": {"PCK@0.5": 0.5123, "AP": 0.2}},
                          "PCK@0.5", extra=("AP",))
    lines = table.splitlines()
    assert "PCK@0.5" in lines[0] and "AP" in lines[0]
    assert lines[1].split() == ["baseline", "5.0", "-"]
    assert lines[2].split() == ["model", "51.2", "20.0"]
