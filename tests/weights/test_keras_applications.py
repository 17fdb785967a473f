"""``tf.keras.applications`` ResNet weights (Caffe BGR input, conv biases, BN epsilon 1.001e-5)
fill our ResNet v1 backbone exactly: no PyTorch needed."""

import numpy as np
import tensorflow as tf

from tfpose.weights import import_model


def _keras_resnet50(path, size=(64, 64)):
    """Keras' ResNet-50 with random weights, BN statistics and conv biases, saved as .h5."""
    model = tf.keras.applications.ResNet50(weights=None, include_top=True,
                                           input_shape=(*size, 3), classes=10)
    rng = np.random.default_rng(0)
    values = []
    for weight in model.weights:
        shape, name = weight.shape, weight.name
        if "moving_variance" in name or "gamma" in name:
            values.append(rng.uniform(0.5, 1.5, shape))
        elif "moving_mean" in name or "beta" in name or "bias" in name:
            values.append(rng.normal(0.0, 0.3, shape))
        else:
            values.append(weight.numpy())
    model.set_weights([v.astype(np.float32) for v in values])
    model.save_weights(path)
    return model


def test_keras_resnet50_fills_the_v1_backbone_of_simple_baseline(tmp_path):
    size = (64, 64)
    keras_model = _keras_resnet50(tmp_path / "resnet50.h5", size)
    imported = import_model(tmp_path / "resnet50.h5", "simplebaseline_r50", input_size=size)
    layout = imported.checkpoint.layout
    assert layout.name == "keras-applications" and layout.model_options == {"stride_in_1x1": True}
    assert imported.model.get_layer("res3_b0_1_conv").strides == (2, 2)  # ResNet v1
    assert imported.report.unused == {"fc.": 2}
    assert imported.report.left == ["deconv0_conv", "deconv0_bn", "deconv1_conv", "deconv1_bn",
                                     "deconv2_conv", "deconv2_bn", "head"]
    images = np.random.default_rng(1).uniform(0, 255, (2, *size, 3)).astype(np.float32)
    features = tf.keras.Model(keras_model.input, keras_model.get_layer("conv5_block3_out").output)
    theirs = features(tf.keras.applications.resnet.preprocess_input(images.copy())).numpy()
    ours = tf.keras.Model(imported.model.input,
                          imported.model.get_layer("res5_b2_relu").output)(images).numpy()
    assert np.abs(ours - theirs).max() <= 1e-4 * np.ptp(theirs)
