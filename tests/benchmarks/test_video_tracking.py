"""benchmarks/video_tracking.py on short clips of the real sample photos (skipped without
../shared/data): the figures it prints would change if the tracker or the One-Euro filter broke,
and the rendered frames move exactly as the true keypoints do."""

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "video_tracking.py"
spec = importlib.util.spec_from_file_location("video_tracking", SCRIPT)
video_tracking = importlib.util.module_from_spec(spec)
sys.modules["video_tracking"] = video_tracking
spec.loader.exec_module(video_tracking)

ONE_PERSON = "coco_sample/000000000785.jpg"
TWO_OVERLAPPING = "crowdpose_sample/103319.jpg"


def run(capsys, data: Path, *argv) -> tuple[list[str], dict]:
    """The header and the rows (by smoothing) of one short clip."""
    assert video_tracking.main(["--data", str(data), "--frames", "20", "--json", *argv]) == 0
    printed = json.loads(capsys.readouterr().out)
    return printed["header"], {row["smoothing"]: row for row in printed["rows"]}


def test_smoothing_cuts_the_jitter_and_keeps_the_error_of_one_person(shared_data, capsys):
    header, rows = run(capsys, shared_data, "--images", ONE_PERSON)
    assert "NOT a network" in header[1] and "sigma 0.02" in header[1]
    off, on = rows["off"], rows["One-Euro"]
    assert off["clip"] == on["clip"] == ONE_PERSON
    for row in (off, on):
        assert all(math.isfinite(row[key]) for key in
                   ("jitter_px", "jitter_pct_size", "error_px", "error_pct_size"))
        assert row["jitter_samples"] > 100 and row["error_samples"] > 100
        assert (row["persons"], row["tracks_started"], row["id_switches"],
                row["new_id_after_leaving_view"]) == (1, 1, 0, 0)
    # White noise of sigma s per axis: mean distance s sqrt(pi / 2), second difference sqrt(6)x.
    expected = 2.0 * math.sqrt(math.pi / 2)
    assert off["error_pct_size"] == pytest.approx(expected, rel=0.15)
    assert off["jitter_pct_size"] == pytest.approx(math.sqrt(6) * expected, rel=0.15)
    assert on["jitter_px"] < 0.4 * off["jitter_px"]
    assert on["error_pct_size"] < 5.0  # noise left over plus lag (< 1 / (2 pi beta) = 5.3 %)


def test_without_noise_the_raw_keypoints_are_the_truth(shared_data, capsys):
    _, rows = run(capsys, shared_data, "--images", ONE_PERSON, "--noise", "0", "--drop", "0")
    off, on = rows["off"], rows["One-Euro"]
    assert off["error_px"] < 1e-6
    assert off["jitter_px"] == pytest.approx(off["true_jitter_px"], abs=1e-6)
    assert off["reported_share"] == on["reported_share"] == 1.0
    assert 0 < on["error_pct_size"] < 100 / (2 * math.pi * 3.0)  # the filter's lag, bounded


def test_two_overlapping_people_keep_their_ids_through_misses(shared_data, capsys):
    header, rows = run(capsys, shared_data, "--images", TWO_OVERLAPPING, "--drop", "0.3",
                       "--beta", "1.5")
    assert "beta 1.5" in header[2]
    for row in rows.values():
        assert (row["persons"], row["tracks_started"], row["id_switches"]) == (2, 2, 0)
        assert 0.3 < row["reported_share"] < 1.0  # people were left out, the ids came back


def test_the_default_clips_are_the_coco_photos_with_a_person_and_the_crowdpose_pair(
        shared_data):
    names = [photo.name for photo in video_tracking.read_photos(shared_data, None)]
    assert names[-1] == TWO_OVERLAPPING and ONE_PERSON in names
    assert len(names) == 5


def test_the_rendered_frame_moves_as_the_true_keypoints(shared_data):
    photo = video_tracking.read_photos(shared_data, [ONE_PERSON])[0]
    image = np.zeros((120, 160, 3), np.uint8)
    ys, xs = np.mgrid[:120, :160]
    spot = np.array([50.0, 40.0])
    image[..., 1] = 255 * np.exp(-((xs - spot[0]) ** 2 + (ys - spot[1]) ** 2) / (2 * 2.0 ** 2))
    photo.keypoints = np.array([[[*spot, 2.0]] * 3])  # one person: three keypoints on the spot
    photo.boxes = np.array([[40.0, 30.0, 20.0, 20.0]])
    truth = video_tracking.true_motion(photo, image.shape[:2], frames=40, fps=30.0)
    moves = [video_tracking.motion(t / 10, 160, 120) for t in range(100)]  # 10 s
    for matrix, zoom in moves:  # a similarity: rotation times zoom
        assert math.sqrt(np.linalg.det(matrix[:, :2])) == pytest.approx(zoom)
    assert min(z for _, z in moves) == pytest.approx(0.8, abs=0.01)
    assert max(z for _, z in moves) == pytest.approx(1.2, abs=0.01)
    for t in (0, 13, 39):
        frame = video_tracking.render(image, truth.matrices[t], 0.0, None)[..., 1].astype(float)
        found = np.array([(frame * xs).sum(), (frame * ys).sum()]) / frame.sum()
        np.testing.assert_allclose(found, truth.points[t, 0, 0], atol=0.3)
    assert truth.present.all() and (truth.sizes[:, 0] > 0).all()


def test_a_model_file_runs_on_the_rendered_frames(shared_data, tmp_path, capsys):
    import tensorflow as tf

    from tfpose.codecs.heatmap import HeatmapCodec
    from tfpose.codecs.model_info import topdown_info
    from tfpose.keypoints import COCO_17
    from tfpose.runtime.keras_files import save_model_atomically

    images = tf.keras.Input((32, 24, 3))  # heatmap k: the crop's brightness, pooled
    pick = tf.keras.layers.Conv2D(17, 1, use_bias=False)
    heatmaps = pick(tf.keras.layers.AveragePooling2D(4)(tf.keras.layers.Rescaling(1 / 255)(
        images)))
    pick.set_weights([np.full((1, 1, 3, 17), 1 / 3, np.float32)])
    path = save_model_atomically(tf.keras.Model(images, heatmaps), tmp_path / "m.keras",
                                 topdown_info(HeatmapCodec((32, 24), (8, 6)), COCO_17, "m"))
    assert video_tracking.main(["--data", str(shared_data), "--frames", "4", "--json",
                                "--images", ONE_PERSON, TWO_OVERLAPPING,
                                "--model", str(path)]) == 0
    out = capsys.readouterr()
    printed = json.loads(out.out)
    assert "the model" in printed["header"][1] and "top-down" in printed["header"][1]
    assert TWO_OVERLAPPING in out.err  # not COCO keypoints: skipped, and said so
    assert [row["clip"] for row in printed["rows"]] == [ONE_PERSON] * 2
    assert all(row["tracks_started"] >= 1 for row in printed["rows"])
