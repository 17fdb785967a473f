"""The training scripts start from published weights: ``--init`` (an ImageNet backbone or the
same network) and ``--teacher`` (a published pose checkpoint, imported on the fly)."""

import json
import logging

import numpy as np
import tensorflow as tf

from tests.training.scripts import run_in_process
from tfpose.runtime.keras_files import load_keras_model

TINY = ["--synthetic-images", "8", "4", "--batch-size", "2", "--steps-per-epoch", "1",
        "--epochs", "1", "--input-size", "64x64", "--run-eagerly"]


def test_fasterpose_starts_from_keras_imagenet_weights(cache, tmp_path, caplog):
    """tf.keras.applications' ResNet-50 is ResNet v1 on Caffe BGR inputs: the run builds
    FasterPose with the stride in the first 1x1 conv and the Caffe normalisation, and fills the
    whole backbone."""
    keras_resnet = tf.keras.applications.ResNet50(weights=None, include_top=False,
                                                  input_shape=(64, 64, 3))
    keras_resnet.save_weights(tmp_path / "resnet50_notop.h5")
    with caplog.at_level(logging.INFO, logger="tfpose"):
        status = run_in_process("train_fasterpose", [
            *TINY, "--model-option", "head_width=16", "--init", tmp_path / "resnet50_notop.h5",
            "--out", tmp_path / "run"])
    assert status == 0
    assert "filled 106 layers of fasterpose from resnet50_notop.h5" in caplog.text
    model = load_keras_model(tmp_path / "run" / "model.keras")
    assert model.get_layer("res3_b0_1_conv").strides == (2, 2)
    assert list(model.get_layer("normalize").get_config()["mean"]) == [123.68, 116.779, 103.939]
    # One Adam step moves each kernel by about the learning rate: still the imported one.
    first = keras_resnet.get_layer("conv1_conv").kernel.numpy()[:, :, ::-1, :]  # BGR -> RGB
    np.testing.assert_allclose(model.get_layer("stem_conv").kernel.numpy(), first, atol=5e-3)


def test_init_of_another_network_is_one_line(cache, tmp_path, capsys):
    keras_resnet = tf.keras.applications.ResNet50(weights=None, include_top=False,
                                                  input_shape=(64, 64, 3))
    keras_resnet.save_weights(tmp_path / "resnet50.h5")
    status = run_in_process("train_litepose", [*TINY, "--init", tmp_path / "resnet50.h5",
                                               "--out", tmp_path / "run"])
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "holds an ImageNet ResNet v1 of tf.keras.applications" in err[-1]
    assert "which does not fit --model litepose_xs" in err[-1]


def test_bihrnet_distils_from_a_published_hrnet_checkpoint(cache, tmp_path, caplog):
    """--teacher takes the HRNet authors' checkpoint itself: imported as the HRNet its shapes
    say (here W18) at the run's input size, frozen, and distilled into the student."""
    from tests.weights import references as ref

    net = ref.calibrate(ref.PoseHRNet(18), (64, 64))
    ref.torch.save(net.pose_state_dict(), tmp_path / "pose_hrnet_w18.pth")
    out = tmp_path / "run"
    with caplog.at_level(logging.INFO, logger="tfpose"):
        status = run_in_process("train_bihrnet", [
            *TINY, "--model-option", "width=8", "--teacher", tmp_path / "pose_hrnet_w18.pth",
            "--out", out])
    assert status == 0
    assert "teacher: hrnet_w18 imported from" in caplog.text
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["teacher_path"] == str(tmp_path / "pose_hrnet_w18.pth")
    assert "teacher" in metrics["results"] and not (out / "teacher").exists()
    assert (out / "stage2" / "history.json").is_file()
