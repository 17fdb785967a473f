"""``tfpose evaluate``: any of our model files, Keras or ``.tflite``, on a dataset's validation
split with the training scripts' evaluators, so a converted file is scored by the same code as
the model it came from.

Top-down: :class:`tfpose.evaluation.topdown.TopDownEvaluator` on ground-truth boxes, or on a
detector's boxes (``boxes_file``, COCO and CrowdPose: AP only, as there is no ground truth per
box). Bottom-up: :class:`tfpose.evaluation.bottomup.BottomUpEvaluator`, by default under the
authors' test-time protocol (LitePose's / HigherHRNet's ``valid.py``: aligned inputs, flip test,
optional test scales, grouping at the input resolution with their settings;
:func:`tfpose.codecs.bottomup_protocol.authors_protocol`), so an AP stands beside the
paper's; ``protocol="tfpose"`` is the faster one training validates with. A ``.tflite`` file
keeps its fixed input under either (:func:`tfpose.evaluation.bottomup.protocol_runner`).
Metrics: COCO AP (pycocotools), CrowdPose AP (xtcocotools), MPII PCKh@0.5 (with
``annot/gt_valid.mat``), PCK@0.5 on synthetic figures. Files converted ``--with-decoder`` output
keypoints, not heatmaps: evaluate the file converted without it (the same network).
"""

from __future__ import annotations

import time

import numpy as np

from tfpose.codecs.bottomup_protocol import named_protocol
from tfpose.data.coco import load_coco, read_detections
from tfpose.data.layouts import locate_dataset, read_persons
from tfpose.errors import DataError, TfposeError
from tfpose.evaluation.bottomup import BottomUpEvaluator, protocol_runner
from tfpose.evaluation.topdown import TopDownEvaluator
from tfpose.runtime.loading import LoadedModel

SYNTHETIC_VAL_IMAGES = 64  # the bundled validation split the training scripts use


def evaluate_model(model: LoadedModel, dataset: str, data_root=None, *, flip_test: bool = True,
                   boxes_file=None, max_images: int | None = None, protocol: str | None = None,
                   scales=None) -> dict:
    """The dataset's metrics for ``model`` (module docstring), with what was run.

    ``protocol`` (``"authors"``, the default, or ``"tfpose"``) and ``scales`` (test scales of
    the authors' protocol, default 1 only) are for bottom-up models; the result's
    ``protocol`` entry says what was followed.
    """
    info = model.info
    if info.decoded:
        raise DataError(model.path, "outputs decoded keypoints (converted --with-decoder); "
                        "evaluate the file converted without --with-decoder (same network)")
    # Only the validation split is read: the synthetic training split is not generated in full.
    files = locate_dataset(dataset, data_root, synthetic_images=(1, SYNTHETIC_VAL_IMAGES),
                           splits=("validation",))
    if files.keypoint_set.name != info.keypoints:
        raise DataError(model.path, f"predicts {info.keypoints} keypoints; --dataset "
                        f"{dataset} has {files.keypoint_set.name}")
    start = time.perf_counter()
    followed = {}
    if info.kind == "bottomup":
        if boxes_file is not None:
            raise DataError(boxes_file, "a bottom-up model takes no person boxes")
        chosen = named_protocol(protocol or "authors", files.keypoint_set, scales)
        run, chosen = protocol_runner(model, chosen)
        evaluator = BottomUpEvaluator(files.val_ann, files.val_images, info.bottomup_codec(),
                                      dataset=dataset, flip_test=flip_test,
                                      max_images=max_images, protocol=chosen)
        metrics = evaluator(run)
        followed = {"protocol": chosen.describe()}
    else:
        if protocol is not None or scales is not None:
            raise TfposeError("test-time protocols and scales are for bottom-up models")
        codec = info.heatmap_codec()
        if boxes_file is not None:
            if not files.coco_format:
                raise DataError(boxes_file, "detector boxes are for COCO-format datasets")
            records = read_detections(boxes_file, load_coco(files.val_ann, files.keypoint_set),
                                      files.val_images, files.keypoint_set)
        else:
            records = read_persons(files, files.val_ann, files.val_images)
        if max_images is not None:
            keep = sorted(set(records.image_ids.tolist()))[:max_images]
            records = records.select(np.isin(records.image_ids, keep))
        evaluator = TopDownEvaluator(files, records, codec, flip_test=flip_test,
                                     batch_size=1 if model.format == "tflite" else 32,
                                     detections=boxes_file is not None)
        metrics = evaluator(lambda images: model.run(images)[0])
        if boxes_file is not None:  # no ground truth per detected box: PCKs mean nothing
            metrics = {k: v for k, v in metrics.items() if not k.startswith("PCK")}
    return {"model": str(model.path), "format": model.format, "kernels": model.kernels,
            "dataset": dataset, "metric": evaluator.primary, "flip_test": flip_test,
            "boxes": str(boxes_file) if boxes_file else "ground truth", **followed,
            "seconds": round(time.perf_counter() - start, 1), **metrics}
