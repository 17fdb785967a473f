"""How much of the gradient at BiHRNet's heatmaps comes from the KL term, and how it scales with T.

    python benchmarks/kd_gradient_share.py \
        --teacher runs/ablations/bihrnet/teacher/seed0/teacher.keras

The measurement behind the KL weighting of :mod:`tfpose.losses.distillation`: at the start of
stage 1 (an untrained stage-1 BiHRNet of the small preset, 96x64, as ``train_bihrnet.py`` builds
it) and on augmented training crops of the synthetic figures, the L2 norm of the gradient of each
loss term with respect to the student's output heatmaps, per example:

* the unscaled KL (no T^2) at each temperature, with the log-log slope between neighbours (about
  -1 below T = 0.5: the gradient grows as 1/T; about -2 above: Hinton's regime);
* AWing against the ground truth, and the cosine between the two gradients at T = 0.1;
* for candidate KL weights at T = 0.1: the KL's share of the gradient and of the loss value.

Figures depend on the teacher and the seed; ``benchmarks/ablations.md`` gives the ones behind the
defaults.
"""

from __future__ import annotations

import argparse
import sys

import tfpose  # noqa: F401  (selects Keras 2: before TensorFlow is imported)

# isort: split
import numpy as np
import tensorflow as tf

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.data.layouts import SYNTHETIC_IMAGES, locate_dataset, read_persons
from tfpose.data.topdown import topdown_dataset
from tfpose.layers.binary import QuantPolicy
from tfpose.losses.distillation import HeatmapKLDivergence
from tfpose.losses.heatmap import AdaptiveWingLoss
from tfpose.models import create
from tfpose.models.bihrnet_presets import PRESETS
from tfpose.runtime.keras_files import load_keras_model

TEMPERATURES = (0.03, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
KL_WEIGHTS = (0.01, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0)
# train_bihrnet.py's small preset: 96x64 crops, 24x16 heatmaps, sigma 1.5
SMALL, INPUT_SIZE, SIGMA = (PRESETS["small"].options, PRESETS["small"].input_size,
                            PRESETS["small"].sigma)
HEATMAP_SIZE = tuple(side // PRESETS["small"].stride for side in INPUT_SIZE)


def per_example(loss, reference, heatmaps, weights=None):
    """Per-example loss values, L2 norms of their gradients wrt ``heatmaps``, and the gradient."""
    with tf.GradientTape() as tape:
        tape.watch(heatmaps)
        per_keypoint = loss.call(reference, heatmaps)
        if weights is not None:
            per_keypoint = per_keypoint * weights
        values = tf.reduce_mean(per_keypoint, -1)
        total = tf.reduce_sum(values)
    grad = tape.gradient(total, heatmaps)
    return values.numpy(), tf.norm(tf.reshape(grad, [grad.shape[0], -1]), axis=1).numpy(), grad


def measure(teacher, student, batches) -> dict[str, np.ndarray]:
    """Per-example gradient norms and loss values over ``batches`` of training crops."""
    rows: dict[str, list] = {"awing": [], "awing_value": [], "kl_value": [], "cosine": []}
    rows.update({f"kl_{t}": [] for t in TEMPERATURES})
    for batch in batches:
        images = batch["image"]
        taught, learning = teacher(images, training=False), student(images, training=True)
        for t in TEMPERATURES:
            values, norms, grad = per_example(HeatmapKLDivergence(t), taught, learning)  # no T^2
            rows[f"kl_{t}"].append(norms)
            if t == 0.1:
                rows["kl_value"].append(values)
                kl_grad, kl_norms = grad, norms
        values, norms, aw_grad = per_example(AdaptiveWingLoss(), batch["heatmaps"], learning,
                                             batch["target_weight"])
        rows["awing"].append(norms)
        rows["awing_value"].append(values)
        dot = tf.reduce_sum(kl_grad * aw_grad, [1, 2, 3]).numpy()
        rows["cosine"].append(dot / (kl_norms * norms + 1e-12))
    return {key: np.concatenate(values) for key, values in rows.items()}


def report(rows: dict[str, np.ndarray]) -> list[str]:
    lines = [f"examples: {len(rows['awing'])}",
             f"AWing value {rows['awing_value'].mean():.4f}, ||grad|| {rows['awing'].mean():.5f}",
             f"KL (T=0.1, unscaled) value {rows['kl_value'].mean():.4f}; cosine of the two "
             f"gradients {rows['cosine'].mean():.3f}"]
    previous = None
    for t in TEMPERATURES:
        norm = rows[f"kl_{t}"].mean()
        slope = ("" if previous is None else
                 f", slope {np.log(norm / previous[1]) / np.log(t / previous[0]):+.2f}")
        lines.append(f"T={t:<5} ||grad KL|| {norm:.5f}, x T^2 {norm * t * t:.6f}, "
                     f"KL / AWing {norm / rows['awing'].mean():.3f}{slope}")
        previous = (t, norm)
    kl, aw = rows["kl_0.1"], rows["awing"]
    for weight in KL_WEIGHTS:
        grad_share = np.mean(weight * kl / (weight * kl + aw))
        loss_share = np.mean(weight * rows["kl_value"] / (weight * rows["kl_value"]
                                                            + rows["awing_value"]))
        lines.append(f"kl_weight {weight} at T=0.1: gradient share {grad_share:.3f}, loss share "
                     f"{loss_share:.3f}")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--teacher", required=True, help="a trained teacher (.keras) at 96x64")
    p.add_argument("--seed", type=int, default=0, help="student initialisation and crops")
    p.add_argument("--batches", type=int, default=8, help="batches of 16 crops")
    args = p.parse_args(argv)
    tf.keras.utils.set_random_seed(args.seed)
    files = locate_dataset("synthetic", synthetic_images=SYNTHETIC_IMAGES)
    persons = read_persons(files, files.train_ann, files.train_images)
    codec = HeatmapCodec(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=SIGMA)
    student = create("bihrnet_w32", input_size=INPUT_SIZE, num_keypoints=17,
                     policy=QuantPolicy().stage_one(), **SMALL)
    batches = topdown_dataset(persons, codec, batch_size=16, train=True,
                              seed=args.seed).take(args.batches)
    print("\n".join(report(measure(load_keras_model(args.teacher), student, batches))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
