"""The predictor's geometry with oracle models, and tfpose predict / evaluate / benchmark on
real files."""

import json

import cv2
import numpy as np
import pytest
import tensorflow as tf

from tests.evaluation.bottomup_oracles import ImageOracle, blob_image, blob_model, figures
from tfpose.cli import main
from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.codecs.bottomup_protocol import authors_protocol
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.codecs.model_info import bottomup_info, topdown_info
from tfpose.evaluation.bottomup_check import ideal_outputs, match_persons, to_input
from tfpose.export.convert import convert
from tfpose.export.lce import convert_to_lce
from tfpose.inference.predictor import PosePredictor
from tfpose.keypoints import COCO_17
from tfpose.layers.common import image_input
from tfpose.runtime.interpreter import host_kernels
from tfpose.runtime.keras_files import save_model_atomically
from tfpose.runtime.loading import LoadedModel, load_model_file

CODEC = HeatmapCodec(input_size=(64, 48), heatmap_size=(32, 24), sigma=1.5)


def truth_keypoints(rng, image_size, k=17):
    h, w = image_size
    return np.stack([rng.uniform(0.3 * w, 0.7 * w, k), rng.uniform(0.2 * h, 0.8 * h, k)], -1)


def test_top_down_predictions_land_on_the_keypoints_in_the_image():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (240, 200, 3), dtype=np.uint8)
    box = np.array([40.0, 30.0, 100.0, 160.0])
    truth = truth_keypoints(rng, (240, 200))
    center, size = CODEC.box_to_center_size(box)
    labelled = np.concatenate([truth, np.full((17, 1), 2.0)], -1).astype(np.float32)
    heatmaps, _ = CODEC.encode_from_image(labelled[None], center[None], size[None])

    def oracle(crops):  # the crop's ideal heatmaps, whatever the pixels
        return [np.repeat(heatmaps.numpy(), len(crops), axis=0)]

    model = LoadedModel(oracle, topdown_info(CODEC, COCO_17), None, "keras", False, "oracle")
    (person,) = PosePredictor(model)(image, [box])
    np.testing.assert_allclose(person.keypoints[:, :2], truth, atol=0.05)  # DARK
    (quarter,) = PosePredictor(model, decoder="quarter")(image, [box])
    scale = size.numpy()[1] / CODEC.heatmap_size[0]  # image pixels per heatmap pixel
    assert np.abs(quarter.keypoints[:, :2] - truth).max() < 0.5 * scale
    assert person.box == tuple(box) and person.score == pytest.approx(1.0, abs=0.05)


def test_bottom_up_predictions_are_the_persons_of_the_image():
    codec = BottomUpCodec(input_size=(128, 128))
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (150, 220, 3), dtype=np.uint8)
    truth = np.zeros((2, 17, 3), np.float32)
    truth[0, :, :2] = truth_keypoints(rng, (150, 110))
    truth[1, :, :2] = truth_keypoints(rng, (150, 110)) + (110, 0)
    truth[..., 2] = 2
    outputs = ideal_outputs(codec, to_input(truth, (150, 220), codec.input_size))
    model = LoadedModel(lambda crops: outputs, bottomup_info(codec, COCO_17), None, "keras",
                        False, "oracle")
    persons = PosePredictor(model)(image)
    assert len(persons) == 2
    found = sorted((p.keypoints for p in persons), key=lambda k: k[:, 0].mean())
    stride = 220 / 128 * 2  # image pixels per grouping-grid pixel
    for predicted, expected in zip(found, truth, strict=True):
        assert np.abs(predicted[:, :2] - expected[:, :2]).max() < stride


def tiny_topdown(input_size=(64, 48)):
    tf.keras.utils.set_random_seed(0)
    inputs, x = image_input(input_size)
    x = tf.keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    return tf.keras.Model(inputs, tf.keras.layers.Conv2D(17, 3, strides=2, padding="same")(x))


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    codec = HeatmapCodec(input_size=(64, 48), heatmap_size=(16, 12))
    model = tiny_topdown()
    info = topdown_info(codec, COCO_17, "tiny")
    keras = save_model_atomically(model, folder / "tiny.keras", info)
    tflite = folder / "tiny.tflite"
    tflite.write_bytes(convert(model, info).flatbuffer)
    decoded = folder / "tiny_decoded.tflite"
    decoded.write_bytes(convert(model, info, decoder=True).flatbuffer)
    return {"keras": keras, "tflite": tflite, "decoded": decoded}


@pytest.mark.parametrize("kind", ["keras", "tflite", "decoded"])
def test_predict_draws_skeletons_on_the_coco_sample(kind, model_files, coco_sample, tmp_path,
                                                     capsys):
    out = tmp_path / "out"
    assert main(["predict", "--model", str(model_files[kind]), str(coco_sample), "--out",
                 str(out), "--boxes", str(coco_sample / "test_coco_det_AP_H_56.json"),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 4
    detections = json.loads((coco_sample / "test_coco_det_AP_H_56.json").read_text())
    assert summary["persons"] == sum(d["score"] >= 0.5 for d in detections)
    results = json.loads((out / "results.json").read_text())
    assert len(results) == summary["persons"]
    assert {r["image_id"] for r in results} == {785, 40083, 196141, 197388}
    assert all(len(r["keypoints"]) == 51 for r in results)
    for path in sorted(coco_sample.glob("*.jpg")):
        drawn, original = cv2.imread(str(out / path.name)), cv2.imread(str(path))
        assert drawn.shape == original.shape
        assert (np.abs(drawn.astype(int) - original.astype(int)) > 60).any()  # lines drawn


def test_keras_and_tflite_predict_the_same(model_files, coco_sample):
    from tfpose.inference.images import read_rgb
    from tfpose.runtime.loading import load_model_file

    image = read_rgb(coco_sample / "000000000785.jpg")
    box = [[280.0, 44.0, 218.0, 346.0]]
    keras = PosePredictor(load_model_file(model_files["keras"]), decoder="quarter")(image, box)
    tflite = PosePredictor(load_model_file(model_files["tflite"]), decoder="quarter")(image, box)
    decoded = PosePredictor(load_model_file(model_files["decoded"]))(image, box)
    np.testing.assert_allclose(tflite[0].keypoints, keras[0].keypoints, atol=1e-2)
    np.testing.assert_allclose(decoded[0].keypoints, keras[0].keypoints, atol=1e-2)


def test_predict_handles_a_video(model_files, tmp_path):
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (96, 80))
    rng = np.random.default_rng(0)
    for _ in range(5):
        writer.write(rng.integers(0, 255, (80, 96, 3), dtype=np.uint8))
    writer.release()
    out = tmp_path / "out"
    assert main(["predict", "--model", str(model_files["tflite"]), str(video), "--out",
                 str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert [r["image_id"] for r in results] == [0, 1, 2, 3, 4]  # one person per frame
    capture = cv2.VideoCapture(str(out / "clip.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    capture.release()


def test_predict_errors_are_one_line(model_files, tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["predict", "--model", str(tmp_path / "none.tflite"), str(tmp_path), "--out",
                 out]) == 2
    assert "none.tflite: model file not found" in capsys.readouterr().err
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    assert main(["predict", "--model", str(model_files["keras"]), str(tmp_path / "broken.jpg"),
                 "--out", out]) == 2
    assert "broken.jpg: not a readable image" in capsys.readouterr().err
    (tmp_path / "bad.tflite").write_bytes(b"\x00" * 64)
    assert main(["predict", "--model", str(tmp_path / "bad.tflite"), str(tmp_path),
                 "--out", out]) == 2
    assert "bad.tflite" in capsys.readouterr().err
    assert main(["predict", "--model", str(model_files["decoded"]), str(tmp_path / "x.jpg"),
                 "--out", out, "--flip-test"]) == 2
    assert "the flip test needs heatmaps" in capsys.readouterr().err


def test_evaluate_scores_keras_and_tflite_alike(model_files, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    scores = {}
    for kind in ("keras", "tflite"):
        assert main(["evaluate", "--model", str(model_files[kind]), "--dataset", "synthetic",
                     "--max-images", "8", "--no-flip-test", "--json"]) == 0
        metrics = json.loads(capsys.readouterr().out)
        assert metrics["metric"] == "PCK@0.5" and metrics["num_persons"] > 8
        scores[kind] = metrics["PCK@0.5"]
    assert scores["keras"] == pytest.approx(scores["tflite"], abs=0.02)
    assert main(["evaluate", "--model", str(model_files["decoded"])]) == 2
    assert "evaluate the file converted without --with-decoder" in capsys.readouterr().err


def test_evaluate_on_detector_boxes(model_files, tmp_path, shared_data, capsys):
    from tests.engine.sample_layouts import coco_layout

    root = coco_layout(tmp_path / "coco", shared_data)
    assert main(["evaluate", "--model", str(model_files["tflite"]), "--dataset", "coco",
                 "--data-root", str(root), "--boxes",
                 str(shared_data / "coco_sample" / "test_coco_det_AP_H_56.json"), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["metric"] == "AP" and 0.0 <= metrics["AP"] <= 1.0
    assert not any(key.startswith("PCK") for key in metrics)


def test_evaluate_needs_only_the_validation_split(model_files, tmp_path, shared_data, capsys):
    from tests.engine.sample_layouts import coco_layout

    root = coco_layout(tmp_path / "coco", shared_data)
    (root / "annotations" / "person_keypoints_train2017.json").unlink()
    (root / "train2017").unlink()
    assert main(["evaluate", "--model", str(model_files["tflite"]), "--dataset", "coco",
                 "--data-root", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metric"] == "AP"
    (root / "annotations" / "person_keypoints_val2017.json").unlink()
    assert main(["evaluate", "--model", str(model_files["tflite"]), "--dataset", "coco",
                 "--data-root", str(root)]) == 2
    assert "the validation split's annotations" in capsys.readouterr().err


def test_benchmark_runs_binary_and_float_files_side_by_side(model_files, tmp_path, capsys):
    import larq as lq

    inputs, x = image_input((64, 48))
    x = tf.keras.layers.Conv2D(32, 4, strides=4, padding="same")(x)  # stride <= kernel: XNNPACK
    x = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, use_bias=False,
                              input_quantizer="ste_sign", kernel_quantizer="ste_sign",
                              kernel_constraint="weight_clip")(x)
    binary = tmp_path / "binary.tflite"
    binary.write_bytes(convert_to_lce(tf.keras.Model(inputs, x)))
    assert main(["benchmark", str(model_files["tflite"]), str(binary), "--runs", "5",
                 "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in rows] == [str(model_files["tflite"]), str(binary)]
    assert [r["kernels"] for r in rows] == ["XNNPACK", host_kernels(binary=True)]
    for row in rows:
        assert row["runs"] == 5 and 0 < row["min_ms"] <= row["median_ms"] <= row["max_ms"]
        assert "host, not a phone" in row["measured_on"]
    assert main(["benchmark", str(model_files["tflite"]), "--runs", "2"]) == 0
    assert "host figures, not phone latency" in capsys.readouterr().out
    (tmp_path / "junk.tflite").write_bytes(b"junk")
    assert main(["benchmark", str(tmp_path / "junk.tflite")]) == 2
    assert "junk.tflite" in capsys.readouterr().err


def test_bottom_up_predictions_under_the_authors_protocol():
    codec = BottomUpCodec(input_size=(128, 128))
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (150, 220, 3), dtype=np.uint8)
    truth = figures((150, 220), 2)
    for scales, sizes in (((1,), [(128, 192)]), ((0.5, 1, 2), [(64, 128), (128, 256),
                                                               (256, 512)])):
        oracle = ImageOracle(codec, authors_protocol(COCO_17, scales), {0: (image, truth)})
        model = LoadedModel(oracle, bottomup_info(codec, COCO_17), None, "keras", False,
                            "oracle")
        predictor = PosePredictor(model, protocol="authors", scales=scales)
        assert predictor.flip_test  # the authors' protocol has it
        persons = predictor(image)
        assert oracle.shapes == [size for size in sizes for _ in range(2)]  # and mirrors
        pairs, errors = match_persons(truth, np.stack([p.keypoints for p in persons]))
        assert len(persons) == len(pairs) == 2
        # Stride-1 grid, quarter step: 0.25 input px per axis; 150 image px span 128 (or
        # 128 of the scale-1 input at scales 0.5 / 1 / 2).
        assert np.max(errors) <= (0.25 * np.sqrt(2) + 0.02) * 150 / 128


def test_a_bottom_up_keras_file_runs_at_its_aligned_size(tmp_path):
    codec = BottomUpCodec(input_size=(64, 64))
    path = save_model_atomically(blob_model((64, 64)), tmp_path / "blob.keras",
                                 bottomup_info(codec, COCO_17, "blob"))
    blob = (150.3, 60.7)
    image = blob_image((150, 220), blob, sigma=8.0)
    for protocol, tolerance in (("authors", 0.25 * 150 / 64), ("tfpose", 0.5 * 220 / 64)):
        (person,) = PosePredictor(load_model_file(path), protocol=protocol)(image)
        found = person.keypoints[person.keypoints[:, 2] > 0]
        assert len(found) == (2 if protocol == "authors" else 1)  # the flip: both shoulders
        assert np.abs(found[:, :2] - blob).max() <= tolerance
    with pytest.raises(ValueError, match="part of the authors' protocol"):
        PosePredictor(load_model_file(path), scales=(0.5, 1))


def test_evaluate_refuses_protocols_for_top_down_models(model_files, capsys):
    assert main(["evaluate", "--model", str(model_files["keras"]), "--scales", "1", "2"]) == 2
    assert "for bottom-up models" in capsys.readouterr().err
