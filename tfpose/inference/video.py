"""People in video, frame by frame: a predictor, a tracker and, optionally, smoothing.

    import tfpose
    video = tfpose.VideoPoseTracker(tfpose.load_model("model.tflite"), smoothing=tfpose.
                                    SmoothingSettings(), follow=True)
    for t, frame in frames:              # t: the frame's time in seconds, frame: RGB uint8
        for tracked in video(frame, t):  # TrackedPerson: track_id, person (smoothed), raw
            ...

Where a top-down model's person boxes come from, first match first:

1. boxes given to the call (a detection file's, for instance);
2. ``follow``: each frame is cropped around the keypoints every confident track had in the frame
   before (:meth:`tfpose.inference.tracking.PoseTracker.next_boxes`), so a person is followed
   without a detector;
3. ``person_boxes`` (:func:`tfpose.load_person_boxes`: a bottom-up model or an SSD-style
   detector) finds people in the frame: every frame, or with ``follow`` only when no track is
   confident (as MediaPipe runs its detector only to find a person again; people who enter
   while others are followed are then not seen until the tracks are lost);
4. the whole frame is one person.

Bottom-up models find everyone in every frame; neither ``follow`` nor ``person_boxes`` changes
anything for them.
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
      person_boxes: ``image -> (boxes, scores)`` for top-down models
        (:func:`tfpose.inference.person_boxes.load_person_boxes`).
      tracker_options: other :class:`~tfpose.inference.tracking.PoseTracker` arguments
        (``match_oks``, ``max_missed``, ``min_start_score``).
    """

    def __init__(self, predictor: PosePredictor, *, smoothing: SmoothingSettings | None = None,
                 follow: bool = False, person_boxes=None, **tracker_options):
        self.predictor = predictor
        self.follow = follow and predictor.top_down
        self.person_boxes = person_boxes if predictor.top_down else None
        self.tracker = PoseTracker(predictor.info.keypoint_set, smoothing=smoothing,
                                   **tracker_options)

    def __call__(self, frame: np.ndarray, t: float, boxes=None,
                 box_scores=None) -> list[TrackedPerson]:
        """The people of ``frame`` (RGB uint8) at time ``t`` (seconds, increasing), each with
        its track id. ``boxes``: person boxes from a detector for this frame (top-down)."""
        if boxes is None and self.follow:
            boxes = self.tracker.next_boxes(frame.shape[:2])
        if boxes is None and self.person_boxes is not None:
            boxes, box_scores = self.person_boxes(frame)
            if len(boxes) == 0:
                return self.tracker.update([], t)  # nobody: every track misses this frame
        return self.tracker.update(self.predictor(frame, boxes, box_scores), t)
