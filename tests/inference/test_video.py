"""People in video: the frame-by-frame tracker over a real predictor, and `tfpose predict` on a
clip with --track / --smooth / --boxes-from previous. The model and the clip: tests/inference/
blobs.py (its fixture ``blob_files`` is in conftest.py)."""

import json

import cv2
import numpy as np
import pytest

import tfpose
from tfpose.cli import main

from .blobs import FRAMES, SIZE, blob_centres, draw_frame


def keypoint_error(keypoints: np.ndarray, frame: int) -> float:
    """Mean distance (pixels) of the keypoints to the blobs they follow."""
    return float(np.linalg.norm(keypoints[:, :2] - blob_centres(frame)[np.arange(17) % 3],
                                axis=-1).mean())


def test_the_model_follows_the_blobs_over_the_whole_frame(blob_files):
    predictor = tfpose.load_model(blob_files[0])
    person, = predictor.predict(draw_frame(0))
    assert keypoint_error(person.keypoints, 0) < 3.0


@pytest.mark.parametrize("follow", [False, True])
def test_one_person_keeps_one_id_frame_by_frame(blob_files, follow):
    video = tfpose.VideoPoseTracker(tfpose.load_model(blob_files[0]), follow=follow)
    for frame in range(FRAMES):
        tracked = video(draw_frame(frame), frame / 10)
        assert [t.track_id for t in tracked] == [1], frame
        assert keypoint_error(tracked[0].person.keypoints, frame) < 3.0, frame
        if follow and frame > 0:
            # cropped around the previous frame's keypoints, not the whole frame
            x, y, w, h = tracked[0].person.box
            assert w < SIZE[1] / 2 and h < SIZE[0] and (x, y) != (0.0, 0.0)


class CountingBoxes:
    """A person box source that finds the blobs' box in given frames only, and counts calls."""

    def __init__(self, frames_with_people):
        self.frames_with_people, self.calls, self.frame = frames_with_people, 0, 0

    def __call__(self, image):
        self.calls += 1
        if self.frame not in self.frames_with_people:
            return np.zeros((0, 4)), np.zeros(0)
        low, high = blob_centres(self.frame).min(0) - 15, blob_centres(self.frame).max(0) + 15
        return np.array([[*low, *(high - low)]]), np.array([0.8])


@pytest.mark.parametrize("follow", [False, True])
def test_person_boxes_find_people_every_frame_or_when_the_tracks_are_lost(blob_files, follow):
    boxes = CountingBoxes(frames_with_people=set(range(FRAMES)) - {4})
    video = tfpose.VideoPoseTracker(tfpose.load_model(blob_files[0]), follow=follow,
                                    person_boxes=boxes, max_missed=0)
    ids = []
    for frame in range(FRAMES):
        boxes.frame = frame
        tracked = video(draw_frame(frame), frame / 10)
        ids.append([t.track_id for t in tracked])
        if tracked:
            assert keypoint_error(tracked[0].person.keypoints, frame) < 3.0, frame
            assert tracked[0].person.box[0] > 0  # a found box, not the whole frame
    if follow:  # the source runs only while nobody is followed: frame 0
        assert boxes.calls == 1 and ids == [[1]] * FRAMES
    else:  # every frame; nobody in frame 4 ends the track (max_missed 0): a new id after it
        assert boxes.calls == FRAMES
        assert ids == [[1]] * 4 + [[]] + [[2]] * (FRAMES - 5)


def test_smoothing_changes_the_moving_keypoints_but_keeps_them_close(blob_files):
    predictor = tfpose.load_model(blob_files[0])
    raw = tfpose.VideoPoseTracker(predictor)
    smooth = tfpose.VideoPoseTracker(predictor, smoothing=tfpose.SmoothingSettings())
    differences = []
    for frame in range(FRAMES):
        image = draw_frame(frame)
        a, = raw(image, frame / 10)
        b, = smooth(image, frame / 10)
        np.testing.assert_array_equal(b.raw.keypoints, a.person.keypoints)
        differences.append(np.abs(b.person.keypoints[:, :2] - a.person.keypoints[:, :2]).max())
    assert differences[0] == 0  # the first frame passes through the filter unchanged
    assert max(differences[1:]) > 0.01 and max(differences) < 10.0


def test_predict_writes_track_ids_and_a_video(blob_files, tmp_path, capsys):
    model, clip = blob_files
    out = tmp_path / "out"
    assert main(["predict", str(clip), "--model", str(model), "--out", str(out), "--track",
                 "--smooth", "--boxes-from", "previous", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == FRAMES and summary["persons"] == FRAMES
    results = json.loads((out / "results.json").read_text())
    assert [r["image_id"] for r in results] == list(range(FRAMES))
    assert {r["track_id"] for r in results} == {1}
    capture = cv2.VideoCapture(str(out / "clip.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    capture.release()


def test_without_track_the_results_have_no_ids(blob_files, tmp_path, capsys):
    model, clip = blob_files
    assert main(["predict", str(clip), "--model", str(model), "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results) == FRAMES and all("track_id" not in r for r in results)


def test_smoothing_flags_need_smooth(blob_files, tmp_path, capsys):
    model, clip = blob_files
    assert main(["predict", str(clip), "--model", str(model), "--out", str(tmp_path),
                 "--beta", "2"]) == 2
    assert "need --smooth" in capsys.readouterr().err
