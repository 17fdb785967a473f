"""People in video: the frame-by-frame tracker over a real predictor, and `tfpose predict` on a
clip with --track / --smooth / --boxes-from previous.

The model here is a real Keras model with fixed weights that "sees" three coloured blobs: its
heatmap k is the blob of colour channel k % 3, so its keypoints follow the blobs wherever they
move, and the motion of the clip is known exactly."""

import json

import cv2
import numpy as np
import pytest
import tensorflow as tf

import tfpose
from tfpose.cli import main
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.codecs.model_info import topdown_info
from tfpose.keypoints import COCO_17
from tfpose.runtime.keras_files import save_model_atomically

SIZE = (96, 128)  # frame H, W
FRAMES = 12


def blob_model() -> tf.keras.Model:
    """64x64 input -> 16x16 heatmaps; heatmap k = channel k % 3 of the image, pooled."""
    images = tf.keras.Input((64, 64, 3))
    pooled = tf.keras.layers.AveragePooling2D(4)(tf.keras.layers.Rescaling(1 / 255)(images))
    pick = tf.keras.layers.Conv2D(17, 1, use_bias=False)
    heatmaps = pick(pooled)
    kernel = np.zeros((1, 1, 3, 17), np.float32)
    kernel[0, 0, np.arange(17) % 3, np.arange(17)] = 1.0
    pick.set_weights([kernel])
    return tf.keras.Model(images, heatmaps, name="blobs")


def blob_centres(frame: int) -> np.ndarray:
    """[3, 2] (x, y) of the red, green and blue blobs: a triangle moving right and down."""
    start = np.array([[40.0, 30.0], [60.0, 30.0], [50.0, 55.0]])
    return start + frame * np.array([3.0, 1.5])


def draw_frame(frame: int) -> np.ndarray:
    image = np.zeros((*SIZE, 3), np.uint8)
    ys, xs = np.mgrid[: SIZE[0], : SIZE[1]]
    for channel, (x, y) in enumerate(blob_centres(frame)):
        image[..., channel] = np.maximum(image[..., channel], (255 * np.exp(
            -((xs - x) ** 2 + (ys - y) ** 2) / (2 * 6.0 ** 2))).astype(np.uint8))
    return image


@pytest.fixture(scope="module")
def blob_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("video")
    codec = HeatmapCodec(input_size=(64, 64), heatmap_size=(16, 16), padding=1.0)
    model_path = save_model_atomically(blob_model(), folder / "blobs.keras",
                                       topdown_info(codec, COCO_17, "blobs"))
    clip = folder / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, SIZE[::-1])
    for frame in range(FRAMES):
        writer.write(cv2.cvtColor(draw_frame(frame), cv2.COLOR_RGB2BGR))
    writer.release()
    return model_path, clip


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
