"""Top-down validation: predict every validation person's keypoints and score them.

The model sees each person crop as training made it (ground-truth box, 1.25 padding, the
codec's affine); with ``flip_test`` the outputs are averaged with those of the mirrored crop
(left/right channels swapped back), as the reference HRNet evaluation does. Predictions are
decoded by the codec (DARK by default) and mapped back to image pixels.

Metrics by dataset (all fractions in [0, 1]; the primary one decides the best model):

* ``synthetic``: ``PCK@0.5`` (primary) and ``PCK_box@0.05`` (:mod:`tfpose.evaluation.pck`; the
  bottom-up evaluator reports the same two, so top-down and bottom-up figures compare) and COCO
  ``AP`` (pycocotools; the figures have COCO annotations);
* ``coco``: ``AP`` (primary) and the other COCOeval statistics, plus both PCKs;
* ``crowdpose``: ``AP`` (xtcocotools, CrowdPose settings) and its statistics, plus both PCKs;
* ``mpii``: ``PCKh@0.5`` (primary; the official "Mean", needs ``annot/gt_valid.mat``) and
  ``PCKh@0.1``; without the ``.mat`` only the PCKs (with a warning).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import tensorflow as tf

from tfpose.codecs import geometry
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.data.coco import load_coco
from tfpose.data.layouts import DatasetFiles
from tfpose.data.mpii import load_ground_truth_mat
from tfpose.data.records import PersonRecords
from tfpose.data.topdown import topdown_dataset
from tfpose.errors import DataError
from tfpose.evaluation.coco import evaluate_keypoints, keypoint_results, oks_nms
from tfpose.evaluation.crowdpose import evaluate_crowdpose
from tfpose.evaluation.mpii import evaluate_pckh
from tfpose.evaluation.pck import pck_box, pck_torso

log = logging.getLogger("tfpose")

CACHE_BYTES = 256 << 20  # keep validation crops in memory when they fit in this


@dataclass
class TopDownPredictions:
    """Keypoints predicted for every validation person, in image pixels.

    Attributes:
      keypoints: ``[N, K, 2]`` (x, y); scores ``[N, K]`` (activated heatmap peaks).
      truth: ``[N, K, 3]`` ground-truth (x, y, visibility).
      image_ids, box_scores: ``[N]`` per person.
      crops: ``[M, H, W, 3]`` uint8, the first ``M`` input crops (for drawing).
      crop_keypoints: ``[M, K, 3]`` predicted (x, y, score) in crop pixels.
      box_areas: ``[N]`` area of each person's crop box in image pixels (padded, at the model's
        aspect ratio): the scale of OKS-NMS.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    truth: np.ndarray
    image_ids: np.ndarray
    box_scores: np.ndarray
    crops: np.ndarray
    crop_keypoints: np.ndarray
    box_areas: np.ndarray

    def drawable(self) -> tuple[np.ndarray, np.ndarray]:
        """The kept model inputs and, per input, the one person predicted in it (``[M, K, 3]``).
        Every joint is drawn (score 1): an untrained model shows its guesses, not a blank
        image."""
        points = self.crop_keypoints.copy()
        points[..., 2] = 1.0
        return self.crops, points


class TopDownEvaluator:
    """Scores a top-down model on a dataset's validation persons (module docstring).

    Args:
      files: the dataset (decides the metrics).
      records: its validation persons, ground-truth boxes, in annotation order.
      codec: the codec the model was trained with.
      batch_size: crops per prediction call (the last batch is padded: one traced shape).
      flip_test: average with the mirrored crops' outputs by default.
      eager: call Keras models eagerly instead of through ``predict_on_batch`` (no tracing:
        quicker for tiny models and small validation sets, slower for big ones).
      detections: the records are a detector's boxes (several may hold one person): COCO-format
        results go through OKS-NMS at 0.9 before scoring, as the HRNet / SimpleBaseline
        evaluation does (:func:`tfpose.evaluation.coco.oks_nms`, the crop box's area as scale).
    """

    def __init__(self, files: DatasetFiles, records: PersonRecords, codec: HeatmapCodec, *,
                 batch_size: int = 32, flip_test: bool = True, eager: bool = False,
                 detections: bool = False):
        if len(records) == 0:
            raise DataError(files.val_ann, "no validation person with labelled keypoints")
        self.files = files
        self.records = records
        self.codec = codec
        self.batch_size = batch_size
        self.flip_test = flip_test
        self.eager = eager
        self.detections = detections
        self.keypoint_set = records.keypoint_set
        self._warned = False

    @property
    def summary(self) -> dict:
        """What was evaluated, for ``metrics.json``."""
        return {"data": self.files.name, "flip_test": self.flip_test,
                "num_val_persons": len(self.records)}

    @property
    def description(self) -> str:
        return f"{len(self.records)} {self.files.name} validation persons"

    @property
    def primary(self) -> str:
        """Name of the metric that ranks models."""
        if self.files.name == "synthetic":
            return "PCK@0.5"
        if self.files.name == "mpii":
            return "PCKh@0.5" if self.files.mpii_ground_truth else "PCK@0.5"
        return "AP"

    @property
    def reported(self) -> tuple[str, ...]:
        """The metrics worth showing per epoch and in tables: the primary one, the PCKs and, on
        real COCO-format data, AP (on the small synthetic crops AP is ~0 and says nothing)."""
        names = [self.primary, "PCK@0.5", "PCK_box@0.05"]
        if self.files.coco_format and self.files.name != "synthetic":
            names.append("AP")
        return tuple(dict.fromkeys(names))

    @cached_property
    def dataset(self) -> tf.data.Dataset:
        ds = topdown_dataset(self.records, self.codec, batch_size=self.batch_size)
        crop_bytes = 4 * 3 * self.codec.input_size[0] * self.codec.input_size[1]
        return ds.cache() if len(self.records) * crop_bytes <= CACHE_BYTES else ds

    @cached_property
    def _coco(self):
        return load_coco(self.files.val_ann, self.keypoint_set)

    def __call__(self, model, flip_test: bool | None = None) -> dict:
        """Predict with ``model`` and return :meth:`metrics`."""
        return self.metrics(self.predict(model, flip_test=flip_test))

    def predict(self, model, *, flip_test: bool | None = None,
                keep_images: int = 0) -> TopDownPredictions:
        """Predictions for every validation person (``model``: Keras model or any callable
        mapping ``[B, H, W, 3]`` float32 images to ``[B, h, w, K]`` outputs)."""
        flip_test = self.flip_test if flip_test is None else flip_test
        predict = _predict_fn(model, self.eager)
        parts = {key: [] for key in ("outputs", "center", "size", "keypoints", "image_id",
                                     "score")}
        crops = []
        for batch in self.dataset:
            images = batch["image"].numpy()
            outputs = _padded_call(predict, images, self.batch_size)
            if flip_test:
                mirrored = _padded_call(predict, images[:, :, ::-1], self.batch_size)
                outputs = self.codec.merge_flip(outputs, mirrored, self.keypoint_set.flip_index)
            parts["outputs"].append(outputs)
            for key in ("center", "size", "keypoints", "image_id", "score"):
                parts[key].append(batch[key].numpy())
            if sum(len(c) for c in crops) < keep_images:
                crops.append(images)
        joined = {key: np.concatenate(values) for key, values in parts.items()}
        if len(joined["outputs"]) != len(self.records):
            raise DataError(self.files.val_images, f"only {len(joined['outputs'])} of "
                            f"{len(self.records)} validation crops could be read")
        points, scores = self.codec.decode_to_image(joined["outputs"], joined["center"],
                                                    joined["size"])
        crops = np.concatenate(crops)[:keep_images] if keep_images else np.zeros((0, 1, 1, 3))
        to_crop = self.codec.image_to_input_matrix(joined["center"][:len(crops)],
                                                   joined["size"][:len(crops)])
        crop_points = geometry.apply_affine(to_crop, points[:len(crops)]).numpy()
        return TopDownPredictions(
            keypoints=points, scores=scores, truth=joined["keypoints"],
            image_ids=joined["image_id"], box_scores=joined["score"],
            crops=np.clip(crops, 0, 255).astype(np.uint8),
            crop_keypoints=np.concatenate([crop_points, scores[:len(crops), :, None]], -1),
            box_areas=joined["size"].prod(-1))

    def metrics(self, predictions: TopDownPredictions) -> dict:
        """The dataset's metrics (module docstring) of ``predictions``."""
        torso = pck_torso(predictions.keypoints, predictions.truth, self.keypoint_set)
        box = pck_box(predictions.keypoints, predictions.truth, self.records.boxes)
        result = {"PCK@0.5": torso["PCK"], "PCK_box@0.05": box["PCK"],
                  "num_persons": len(predictions.keypoints),
                  "num_persons_torso": torso["num_persons"]}
        if self.files.coco_format:
            results = keypoint_results(predictions.image_ids, predictions.keypoints,
                                       predictions.scores, predictions.box_scores)
            if self.detections and self.keypoint_set.sigmas is not None:
                results = oks_nms(results, predictions.box_areas, self.keypoint_set.sigmas)
            if self.files.name == "crowdpose":
                stats = evaluate_crowdpose(self.files.val_ann, results)
            else:
                stats = evaluate_keypoints(self._coco, results, self.keypoint_set)
            result.update(stats)
        elif self.files.mpii_ground_truth is not None:
            pckh = evaluate_pckh(predictions.keypoints, self._mpii_ground_truth)
            result["PCKh@0.5"] = pckh["Mean"] / 100.0
            result["PCKh@0.1"] = pckh["Mean@0.1"] / 100.0
        elif not self._warned:
            log.warning("%s: no annot/gt_valid.mat, so no PCKh; reporting PCK@0.5 (torso)",
                        self.files.val_ann.parent)
            self._warned = True
        return result

    @cached_property
    def _mpii_ground_truth(self):
        truth = load_ground_truth_mat(self.files.mpii_ground_truth)
        if truth.num_persons != len(self.records):
            raise DataError(self.files.mpii_ground_truth,
                            f"holds {truth.num_persons} persons but {self.files.val_ann} gives "
                            f"{len(self.records)} (with images): they must be the same split")
        return truth


def _predict_fn(model, eager: bool):
    if isinstance(model, tf.keras.Model) and not eager:
        return lambda images: np.asarray(model.predict_on_batch(images))
    if isinstance(model, tf.keras.Model):
        return lambda images: model(images, training=False).numpy()
    return lambda images: np.asarray(model(images))


def _padded_call(predict, images: np.ndarray, batch_size: int) -> np.ndarray:
    """``predict`` on a batch padded to ``batch_size`` (a fixed shape traces once)."""
    n = len(images)
    if n < batch_size:
        images = np.concatenate([images, np.zeros((batch_size - n, *images.shape[1:]),
                                                  images.dtype)])
    return predict(images)[:n]
