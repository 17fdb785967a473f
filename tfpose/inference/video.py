"""People in video, frame by frame: a predictor, a tracker and, optionally, smoothing.

    import tfpose
    video = tfpose.VideoPoseTracker(tfpose.load_model("model.tflite"), smoothing=tfpose.
                                    SmoothingSettings(), follow=True)
    for t, frame in frames:              # t: the frame's time in seconds, frame: RGB uint8
        for tracked in video(frame, t):  # TrackedPerson: track_id, person (smoothed), raw
            ...

``follow`` (top-down models): each frame is cropped around the keypoints every confident track
had in the frame before (:meth:`tfpose.inference.tracking.PoseTracker.next_boxes`), so one
person is followed without a detector; when no track is confident the whole frame is searched
again. Boxes given to a call (a detector's) take precedence. Bottom-up models find everyone
in every frame; ``follow`` changes nothing for them.
"""

from __future__ import annotations

import numpy as np

from tfpose.inference.predictor import PosePredictor
from tfpose.inference.tracking import PoseTracker, SmoothingSettings, TrackedPerson


class VideoPoseTracker:
    """Tracked (and smoothed) people from consecutive frames (module docstring).

    Args:
      predictor: the model (:func:`tfpose.load_model`).
      smoothing: One-Euro settings, or None for raw keypoints.
      follow: top-down models crop around the previous frame's people.
      tracker_options: other :class:`~tfpose.inference.tracking.PoseTracker` arguments
        (``match_oks``, ``max_missed``, ``min_start_score``).
    """

    def __init__(self, predictor: PosePredictor, *, smoothing: SmoothingSettings | None = None,
                 follow: bool = False, **tracker_options):
        self.predictor = predictor
        self.follow = follow and predictor.top_down
        self.tracker = PoseTracker(predictor.info.keypoint_set, smoothing=smoothing,
                                   **tracker_options)

    def __call__(self, frame: np.ndarray, t: float, boxes=None,
                 box_scores=None) -> list[TrackedPerson]:
        """The people of ``frame`` (RGB uint8) at time ``t`` (seconds, increasing), each with
        its track id. ``boxes``: person boxes from a detector for this frame (top-down)."""
        if boxes is None and self.follow:
            boxes = self.tracker.next_boxes(frame.shape[:2])
        return self.tracker.update(self.predictor(frame, boxes, box_scores), t)
