"""The One-Euro filter, the pose tracker and its next-frame boxes, on synthetic numbers."""

import numpy as np
import pytest

from tfpose.inference.predictor import Person
from tfpose.inference.tracking import (
    OneEuroFilter,
    PoseTracker,
    SmoothingSettings,
    box_around,
)
from tfpose.keypoints import COCO_17, MPII_16

FPS = 30.0


def run(filt, times, values, scale=1.0):
    return np.array([filt(t, v, scale) for t, v in zip(times, values, strict=True)])


# One-Euro filter


def test_a_constant_signal_stays_constant():
    filt = OneEuroFilter(1.0, 3.0, 1.0)
    value = np.array([[3.5, -2.0], [0.0, 7.25]])
    for i in range(50):
        np.testing.assert_allclose(filt(i / FPS, value), value, rtol=0, atol=1e-12)


def test_the_first_call_returns_the_input():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(OneEuroFilter(1.0, 1.0)(0.5, x), x)


def test_with_beta_zero_it_is_a_first_order_low_pass():
    times = [0.0, 0.033, 0.07, 0.1, 0.2, 0.21]  # uneven steps on purpose
    values = [0.0, 1.0, 0.5, 2.0, -1.0, 4.0]
    cutoff = 2.0
    expected, previous = [values[0]], values[0]
    for i in range(1, len(times)):
        te = times[i] - times[i - 1]
        alpha = 1.0 / (1.0 + 1.0 / (2 * np.pi * cutoff) / te)
        previous = alpha * values[i] + (1 - alpha) * previous
        expected.append(previous)
    got = run(OneEuroFilter(cutoff, 0.0, 1.0), times, np.array(values))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_a_noisy_sine_is_smoothed_and_followed():
    rng = np.random.default_rng(1)
    times = np.arange(90) / FPS
    truth = np.sin(2 * np.pi * 0.5 * times)
    noisy = truth + rng.normal(0, 0.05, truth.shape)
    filtered = run(OneEuroFilter(1.0, 3.0, 1.0), times, noisy)
    acceleration = np.abs(np.diff(filtered, 2)).mean()
    assert acceleration < 0.7 * np.abs(np.diff(noisy, 2)).mean()  # about 0.55
    assert np.abs(filtered - truth).max() < 0.25  # about 0.15; 0.45 with beta 0 (lag)


def test_more_beta_lags_less_on_a_fast_ramp():
    times = np.arange(30) / FPS
    ramp = 20.0 * times
    lags = [ramp[-1] - run(OneEuroFilter(1.0, beta, 1.0), times, ramp)[-1]
            for beta in (0.0, 0.5, 5.0)]
    assert lags[0] > lags[1] > lags[2] > 0


def test_scaling_values_and_scale_together_scales_the_output():
    rng = np.random.default_rng(2)
    times = np.arange(40) / FPS
    values = np.cumsum(rng.normal(0, 3, (40, 5, 2)), axis=0)
    small = run(OneEuroFilter(1.0, 2.0, 1.0), times, values, scale=10.0)
    large = run(OneEuroFilter(1.0, 2.0, 1.0), times, 7.0 * values, scale=70.0)
    np.testing.assert_allclose(large, 7.0 * small, rtol=1e-9, atol=1e-9)
    # and the scale does matter: the same values at another scale come out otherwise
    other = run(OneEuroFilter(1.0, 2.0, 1.0), times, values, scale=100.0)
    assert np.abs(other - small).max() > 0.1


@pytest.mark.parametrize("second", [1.0, 0.5])
def test_time_must_increase(second):
    filt = OneEuroFilter(1.0, 1.0)
    filt(1.0, np.zeros(3))
    with pytest.raises(ValueError, match="increase"):
        filt(second, np.zeros(3))


@pytest.mark.parametrize("t", [-0.1, float("nan"), float("inf")])
def test_bad_times_are_value_errors(t):
    with pytest.raises(ValueError, match="time"):
        OneEuroFilter(1.0, 1.0)(t, np.zeros(3))


def test_a_changed_shape_is_a_value_error():
    filt = OneEuroFilter(1.0, 1.0)
    filt(0.0, np.zeros((17, 2)))
    with pytest.raises(ValueError, match=r"\(16, 2\)"):
        filt(0.1, np.zeros((16, 2)))


# Tracker

TEMPLATE = np.random.default_rng(0).uniform(-0.5, 0.5, (17, 2)) * [0.4, 1.0]  # a tall person


def person(cx, cy, height=200.0, score=0.9, jitter=0.0, rng=None, keypoint_scores=0.9,
           template=TEMPLATE, box=True):
    points = np.array([cx, cy]) + template * height
    if jitter:
        points = points + rng.normal(0, jitter, points.shape)
    scores = np.broadcast_to(np.asarray(keypoint_scores, float), (len(template),))
    keypoints = np.concatenate([points, scores[:, None]], axis=1).astype(np.float32)
    return Person(keypoints, score, (cx - 0.2 * height, cy - 0.5 * height, 0.4 * height, height)
                  if box else None)


def ids(tracked):
    return [t.track_id for t in tracked]


def test_two_people_crossing_far_apart_keep_their_ids():
    tracker = PoseTracker(COCO_17)
    rng = np.random.default_rng(3)
    first = tracker.update([person(100, 150), person(540, 420)], 0.0)
    assert ids(first) == [1, 2]
    for frame in range(1, 30):
        a = person(100 + 15 * frame, 150, jitter=2.0, rng=rng)
        b = person(540 - 15 * frame, 420, jitter=2.0, rng=rng)
        order = [a, b] if rng.random() < 0.5 else [b, a]  # the given order must not matter
        tracked = tracker.update(order, frame / FPS)
        assert [t.raw for t in tracked] == order  # returned in the given order
        assert {t.track_id for t in tracked if t.raw is a} == {1}
        assert {t.track_id for t in tracked if t.raw is b} == {2}
    assert tracker.track_ids == [1, 2]


def test_a_person_far_from_every_track_starts_a_new_one():
    tracker = PoseTracker(COCO_17)
    tracker.update([person(100, 150)], 0.0)
    assert ids(tracker.update([person(500, 400)], 1 / FPS)) == [2]


@pytest.mark.parametrize(("absent", "same_id"), [(1, True), (10, True), (11, False)])
def test_a_person_gone_up_to_max_missed_frames_gets_their_id_back(absent, same_id):
    tracker = PoseTracker(COCO_17, max_missed=10)
    tracker.update([person(200, 200)], 0.0)
    frame = 1
    for _ in range(absent):
        assert tracker.update([], frame / FPS) == []
        frame += 1
    back = tracker.update([person(203, 201)], frame / FPS)
    assert ids(back) == ([1] if same_id else [2])
    assert back[0].gap == (absent if same_id else 0)


def test_ids_are_never_reused():
    tracker = PoseTracker(COCO_17, max_missed=2)
    seen, frame = [], 0
    for appearance in range(4):
        x = 100 + 150 * (appearance % 2)
        for _ in range(3):
            seen += ids(tracker.update([person(x, 200)], frame / FPS))
            frame += 1
        for _ in range(3):  # more than max_missed: the track ends
            tracker.update([], frame / FPS)
            frame += 1
        assert tracker.track_ids == []
    assert seen == [1] * 3 + [2] * 3 + [3] * 3 + [4] * 3


def test_a_low_score_person_starts_no_track_but_may_continue_one():
    tracker = PoseTracker(COCO_17, min_start_score=0.3)
    assert tracker.update([person(200, 200, score=0.2)], 0.0) == []
    assert tracker.track_ids == []
    assert ids(tracker.update([person(200, 200, score=0.3)], 1 / FPS)) == [1]
    assert ids(tracker.update([person(201, 200, score=0.1)], 2 / FPS)) == [1]


def test_age_and_hits_count_frames():
    tracker = PoseTracker(COCO_17)
    tracker.update([person(200, 200)], 0.0)
    tracker.update([], 0.1)
    tracked, = tracker.update([person(200, 200)], 0.2)
    assert (tracked.age, tracked.hits, tracked.gap) == (3, 2, 1)


def jitter_of(smoothing):
    tracker = PoseTracker(COCO_17, smoothing=smoothing)
    rng = np.random.default_rng(4)
    out = []
    for frame in range(60):
        tracked, = tracker.update([person(300, 250, jitter=3.0, rng=rng)], frame / FPS)
        assert tracked.track_id == 1
        out.append(tracked.person.keypoints[:, :2])
    return np.std(np.array(out)[10:], axis=0).mean()


def test_smoothing_reduces_the_jitter_of_a_still_person():
    raw = jitter_of(None)
    smoothed = jitter_of(SmoothingSettings())
    assert raw == pytest.approx(3.0, rel=0.2)
    assert smoothed < 0.6 * raw  # 0.52 with the defaults (beta 10), 0.37 with beta 3


def test_smoothing_keeps_scores_and_box_and_the_raw_person():
    tracker = PoseTracker(COCO_17, smoothing=SmoothingSettings())
    tracker.update([person(300, 250)], 0.0)
    given = person(310, 250, keypoint_scores=np.linspace(0.2, 1.0, 17))
    tracked, = tracker.update([given], 1 / FPS)
    assert tracked.raw is given
    np.testing.assert_array_equal(tracked.person.keypoints[:, 2], given.keypoints[:, 2])
    assert tracked.person.box == given.box
    assert tracked.person.score == given.score
    lagging = tracked.person.keypoints[:, 0] - given.keypoints[:, 0]
    assert (lagging < 0).all() and (lagging > -10).all()  # smoothed: between the two frames


def test_a_person_without_box_gets_one_around_the_smoothed_keypoints():
    tracker = PoseTracker(COCO_17, smoothing=SmoothingSettings())
    tracker.update([person(300, 250, box=False)], 0.0)
    tracked, = tracker.update([person(330, 250, box=False)], 1 / FPS)
    points = tracked.person.keypoints[:, :2]
    x, y, w, h = tracked.person.box
    np.testing.assert_allclose([x, y, x + w, y + h], [*points.min(0), *points.max(0)],
                               rtol=1e-6)


def test_keypoint_sets_without_sigmas_are_tracked():
    template = np.random.default_rng(5).uniform(-0.5, 0.5, (16, 2))
    tracker = PoseTracker(MPII_16)
    tracker.update([person(200, 200, template=template)], 0.0)
    assert ids(tracker.update([person(205, 200, template=template)], 0.1)) == [1]


def test_a_wrong_keypoint_count_is_a_value_error_naming_the_shapes():
    tracker = PoseTracker(COCO_17)
    wrong = Person(np.zeros((16, 3), np.float32), 0.9, (0, 0, 10, 10))
    with pytest.raises(ValueError, match=r"\(16, 3\).*\(17, 3\)"):
        tracker.update([person(100, 100), wrong], 0.0)
    assert tracker.track_ids == []  # nothing was half done


@pytest.mark.parametrize("t", [-1.0, float("nan")])
def test_the_tracker_rejects_bad_times(t):
    with pytest.raises(ValueError, match="time"):
        PoseTracker(COCO_17).update([], t)


def test_the_tracker_rejects_times_that_do_not_increase():
    tracker = PoseTracker(COCO_17)
    tracker.update([person(100, 100)], 1.0)
    with pytest.raises(ValueError, match="increase"):
        tracker.update([person(100, 100)], 1.0)


# Next-frame boxes


def spread_person(x0, y0, x1, y1, scores=0.9):
    """17 keypoints spanning exactly [x0, x1] x [y0, y1]."""
    xs = np.linspace(x0, x1, 17)
    ys = np.linspace(y1, y0, 17)
    scores = np.broadcast_to(np.asarray(scores, float), (17,))
    return Person(np.stack([xs, ys, scores], 1), 0.9, (x0, y0, x1 - x0, y1 - y0))


def test_next_boxes_are_grown_about_the_centre_and_clipped():
    tracker = PoseTracker(COCO_17)
    tracker.update([spread_person(10, 20, 110, 220), spread_person(200, 50, 240, 130)], 0.0)
    boxes = tracker.next_boxes((200, 300), grow=1.25)
    # 100 x 200 about (60, 120) -> 125 x 250, from (-2.5, -5): clipped to x 0..122.5, y 0..200
    np.testing.assert_allclose(boxes[0], (0.0, 0.0, 122.5, 200.0))
    # 40 x 80 about (220, 90) -> 50 x 100, inside the image
    np.testing.assert_allclose(boxes[1], (195.0, 40.0, 50.0, 100.0))


def test_next_boxes_is_none_without_a_confident_track():
    tracker = PoseTracker(COCO_17)
    assert tracker.next_boxes((480, 640)) is None  # no track yet
    tracker.update([spread_person(10, 20, 110, 220, scores=0.2)], 0.0)
    assert tracker.track_ids == [1]
    assert tracker.next_boxes((480, 640), min_score=0.3) is None
    assert tracker.next_boxes((480, 640), min_score=0.2) is not None


def test_next_boxes_leave_out_tracks_missed_in_the_last_frame():
    tracker = PoseTracker(COCO_17)
    tracker.update([spread_person(10, 20, 110, 220)], 0.0)
    tracker.update([], 0.1)
    assert tracker.track_ids == [1]
    assert tracker.next_boxes((480, 640)) is None


def test_a_track_with_fewer_than_three_confident_keypoints_gets_no_box():
    few = np.full(17, 0.1)  # 0.1 is not above the threshold
    few[[3, 9]] = 1.0
    tracker = PoseTracker(COCO_17)
    tracker.update([spread_person(10, 20, 110, 220, scores=few),
                    spread_person(300, 50, 340, 130)], 0.0)
    assert tracker.track_ids == [1, 2]
    boxes = tracker.next_boxes((480, 640), min_score=0.05)
    assert len(boxes) == 1
    np.testing.assert_allclose(boxes[0], (295.0, 40.0, 50.0, 100.0))
    three = few.copy()
    three[5] = 1.0
    assert box_around(spread_person(10, 20, 110, 220, scores=three).keypoints, 1.0,
                      (480, 640)) is not None
    assert box_around(spread_person(10, 20, 110, 220, scores=few).keypoints, 1.0,
                      (480, 640)) is None
