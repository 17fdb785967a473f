"""CrowdPose AP through xtcocotools with the CrowdPose settings.

``COCOeval(gt, dt, "keypoints_crowd", sigmas, use_area=False)``: OKS uses the box area (CrowdPose
has no segmentation areas), and AP is also reported per crowd level (easy / medium / hard, from
each image's ``crowdIndex``).

xtcocotools has no Linux ARM64 wheel, so there it is an extra (``pip install 'tfpose[crowdpose]'``
builds it from source); without it CrowdPose AP is a one-line error and everything else works.
"""

from __future__ import annotations

import contextlib
import io
import logging

import numpy as np

from tfpose.errors import TfposeError
from tfpose.keypoints import CROWDPOSE_14

log = logging.getLogger("tfpose")

CROWDPOSE_STAT_NAMES = ("AP", "AP50", "AP75", "AR", "AR50", "AR75", "AP_easy", "AP_medium",
                        "AP_hard")


def evaluate_crowdpose(ann_file, results: list[dict]) -> dict[str, float]:
    """CrowdPose AP of ``results`` (standard results list) against the json ``ann_file``."""
    if not results:
        log.warning("no predictions to evaluate: every metric is 0")
        return dict.fromkeys(CROWDPOSE_STAT_NAMES, 0.0)
    try:
        from xtcocotools.coco import COCO as XtCOCO
        from xtcocotools.cocoeval import COCOeval as XtCOCOeval
    except ImportError:
        raise TfposeError("CrowdPose AP needs xtcocotools, which is not installed (no wheel for "
                          "Linux ARM64): pip install 'tfpose[crowdpose]' builds it from source "
                          "(needs a C compiler)") from None
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        coco_gt = XtCOCO(str(ann_file))
        coco_dt = coco_gt.loadRes(results)
        evaluator = XtCOCOeval(coco_gt, coco_dt, "keypoints_crowd",
                               np.asarray(CROWDPOSE_14.sigmas), use_area=False)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    log.debug(printed.getvalue())
    return {n: float(v) for n, v in zip(CROWDPOSE_STAT_NAMES, evaluator.stats, strict=True)}
