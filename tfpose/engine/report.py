"""What a run leaves for people to read: metrics.json, the results table, a PNG grid of
predicted skeletons and a PNG of the training curves (:func:`final_report` writes them all)."""

from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib
import numpy as np
import tensorflow as tf

from tfpose.engine.run import Run
from tfpose.engine.training import PhaseResult
from tfpose.files import write_json_atomically
from tfpose.keypoints import KeypointSet
from tfpose.visualize import draw_skeleton, image_grid, save_rgb

matplotlib.use("Agg")  # files only: no display on training machines
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.ticker import MaxNLocator  # noqa: E402

GRID_SCALE = 3  # small crops (96x64) are upscaled before drawing, so the skeletons stay legible
GRID_COLUMNS = 8
GRID_IMAGES = 16  # validation inputs drawn in predictions.png


def write_metrics(path, metrics: dict) -> Path:
    """``metrics.json``, written atomically."""
    return write_json_atomically(path, metrics)


def results_table(results: dict[str, dict], metric: str, extra: tuple[str, ...] = ()) -> str:
    """A plain-text table, one row per model: ``{label: metrics}`` -> lines (percent)."""
    columns = (metric, *extra)
    width = max(len(label) for label in results) + 2
    lines = [" " * width + "".join(f"{c:>14}" for c in columns)]
    for label, values in results.items():
        cells = "".join(f"{100 * values[c]:>14.1f}" if c in values else f"{'-':>14}"
                        for c in columns)
        lines.append(f"{label:<{width}}{cells}")
    return "\n".join(lines)


def save_prediction_grid(path, crops: np.ndarray, keypoints, keypoint_set: KeypointSet, *,
                         columns: int = GRID_COLUMNS, scale: int = GRID_SCALE) -> Path:
    """Draw predicted skeletons on model-input images and tile them into one PNG.

    Args:
      crops: ``[M, H, W, 3]`` uint8 RGB model inputs (top-down crops or bottom-up images).
      keypoints: per image, the predicted (x, y, score) in its pixels: ``[M, K, 3]`` (one
        person each, top-down) or a list of ``[N_i, K, 3]`` arrays (bottom-up). Joints with a
        score above 0 are drawn.
    """
    if len(crops) == 0:
        raise ValueError("no crops to draw")
    if len(crops) != len(keypoints):
        raise ValueError(f"{len(crops)} images but keypoints for {len(keypoints)}")
    drawn = []
    k = keypoint_set.num_keypoints
    for crop, points in zip(crops, keypoints, strict=True):
        points = np.asarray(points, np.float32).reshape(-1, k, 3)
        big = cv2.resize(crop, (crop.shape[1] * scale, crop.shape[0] * scale),
                         interpolation=cv2.INTER_LINEAR)
        # Pixel centres at integer coordinates: x -> (x + 0.5) * scale - 0.5.
        xy = (points[..., :2] + 0.5) * scale - 0.5
        shown = np.concatenate([xy, points[..., 2:]], axis=-1)
        drawn.append(draw_skeleton(big, shown, keypoint_set))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_rgb(path, image_grid(drawn, columns=min(columns, len(drawn))))
    return path


def plot_curves(path, histories: dict[str, list[dict]], metric: str) -> Path:
    """Training curves of each phase: losses (top row) and validation ``metric`` (bottom).

    Args:
      histories: ``{phase: [per-epoch logs]}`` as the phases' ``history.json`` files hold them.
      metric: the validation metric to plot (logged as ``val_<metric>``).
    """
    phases = [name for name, history in histories.items() if history]
    if not phases:
        raise ValueError("no finished epoch to plot")
    fig, axes = plt.subplots(2, len(phases), figsize=(4.5 * len(phases), 6), squeeze=False)
    for column, name in enumerate(phases):
        history = histories[name]
        epochs = [entry["epoch"] for entry in history]
        losses = sorted({key for entry in history for key in entry
                         if not key.startswith("val_") and key not in ("epoch", "step", "lr")})
        for key in losses:
            axes[0, column].plot(epochs, [entry.get(key, np.nan) for entry in history],
                                 marker="o", label=key)
        axes[0, column].set_title(f"{name}: training losses")
        axes[0, column].set_yscale("log")
        axes[0, column].legend(fontsize=8)
        values = [100 * entry.get(f"val_{metric}", np.nan) for entry in history]
        axes[1, column].plot(epochs, values, marker="o", color="tab:green")
        axes[1, column].set_title(f"{name}: validation {metric} (%)")
        axes[1, column].set_xlabel("epoch")
        for axis in axes[:, column]:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def final_report(run: Run, evaluator, models: dict[str, tf.keras.Model], *,
                 labels: dict[str, str], histories: dict[str, list[dict]], drawn: str,
                 known: dict[str, dict] | None = None, extra: dict | None = None) -> dict:
    """Evaluate the final models (flip test), write ``metrics.json``, ``predictions.png`` and
    ``curves.png`` in the run folder and print the results table.

    Args:
      evaluator: a :class:`tfpose.evaluation.topdown.TopDownEvaluator` or
        :class:`tfpose.evaluation.bottomup.BottomUpEvaluator`.
      models: ``{key: model}`` to evaluate now (e.g. ``teacher``, ``student``).
      labels: ``{key: row label}`` for the table, in table order (may include ``known`` keys).
      histories: ``{phase: history}`` for the curves.
      drawn: the key of the model whose predictions are drawn.
      known: ``{key: metrics}`` evaluated before (e.g. an untrained baseline).
      extra: more entries for ``metrics.json``.
    Returns:
      the ``metrics.json`` content.
    """
    results = dict(known or {})
    for key, model in models.items():
        keep = GRID_IMAGES if key == drawn else 0
        predictions = evaluator.predict(model, keep_images=keep)
        results[key] = evaluator.metrics(predictions)
        if keep and run.chief:
            save_prediction_grid(run.out / "predictions.png", *predictions.drawable(),
                                 evaluator.keypoint_set)
    metric = evaluator.primary
    summary = {**evaluator.summary, "metric": metric,
               "results": {key: {"label": labels.get(key, key), **results[key]}
                           for key in labels if key in results},
               **(extra or {})}
    if run.chief:
        write_metrics(run.out / "metrics.json", summary)
        if any(histories.values()):
            plot_curves(run.out / "curves.png", histories, metric)
    rows = {labels[key]: results[key] for key in labels if key in results}
    flip = "flip test" if evaluator.flip_test else "no flip test"
    print(f"\n{metric} on {evaluator.description} (percent, {flip}):")
    print(results_table(rows, metric, extra=evaluator.reported[1:]))
    return summary


def trained_vs_untrained(run: Run, evaluator, phase: PhaseResult, baseline: dict,
                         label: str) -> dict:
    """:func:`final_report` of a one-phase script: the trained model of ``phase`` (drawn) next
    to ``baseline``, the metrics of the same model before training."""
    summary = final_report(
        run, evaluator, {"model": phase.model},
        labels={"baseline": f"untrained {label} (baseline)", "model": label},
        known={"baseline": baseline}, drawn="model", histories={phase.name: phase.history},
        extra={"model_path": str(phase.saved)})
    print(f"\nsaved {phase.saved}")
    return summary
