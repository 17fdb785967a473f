import numpy as np
import pytest

from tfpose.evaluation.pck import pck_box, pck_torso
from tfpose.keypoints import COCO_17


def torso_person(hip_visibility=2.0):
    """A COCO person whose torso (shoulder midpoint to hip midpoint) is 4 px long."""
    truth = np.zeros((17, 3))
    names = COCO_17.names
    for name, xy in (("left_shoulder", (0, 0)), ("right_shoulder", (2, 0)),
                     ("left_hip", (0, 4)), ("right_hip", (2, 4)), ("nose", (1, -2))):
        truth[names.index(name)] = (*xy, 2.0)
    truth[names.index("right_hip"), 2] = hip_visibility
    return truth


def test_pck_torso_counts_errors_within_half_the_torso():
    truth = torso_person()[None]
    predicted = truth[..., :2].copy()
    nose = COCO_17.names.index("nose")
    predicted[0, nose] += (1.9, 0.0)  # 1.9 <= 0.5 x 4
    assert pck_torso(predicted, truth, COCO_17) == {"PCK": 1.0, "num_joints": 5,
                                                    "num_persons": 1}
    predicted[0, nose] = truth[0, nose, :2] + (0.0, 2.1)
    assert pck_torso(predicted, truth, COCO_17)["PCK"] == pytest.approx(4 / 5)
    # A person without a labelled hip has no torso size: not scored.
    both = np.stack([torso_person(), torso_person(hip_visibility=0.0)])
    result = pck_torso(both[..., :2], both, COCO_17)
    assert result["num_persons"] == 1 and result["num_joints"] == 5


def test_pck_box_uses_the_longer_side_of_the_box():
    truth = torso_person()[None]
    predicted = truth[..., :2] + 0.9  # error 1.27
    assert pck_box(predicted, truth, [[0, 0, 10, 30]])["PCK"] == 1.0  # 0.05 x 30 = 1.5
    assert pck_box(predicted, truth, [[0, 0, 20, 20]])["PCK"] == 0.0  # 1.0


def test_nan_predictions_count_as_wrong():
    truth = torso_person()[None]
    predicted = truth[..., :2].copy()
    predicted[0, COCO_17.names.index("nose")] = np.nan
    assert pck_torso(predicted, truth, COCO_17)["PCK"] == pytest.approx(4 / 5)
    assert pck_box(predicted, truth, [[0, 0, 10, 30]])["PCK"] == pytest.approx(4 / 5)
