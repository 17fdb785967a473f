"""``--init`` also takes a tfpose ``.keras`` model: every layer from the layer of the same name,
with the input statistics and model options its weights were saved with."""

import numpy as np
import pytest
import tensorflow as tf

from tfpose.models import create
from tfpose.weights import WeightsMismatch, import_weights, read_starting_point, start_from

SIZE = (64, 64)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """FasterPose with tf.keras.applications' ResNet-50 backbone (ResNet v1, Caffe input),
    as `tfpose import-weights` writes it."""
    folder = tmp_path_factory.mktemp("init")
    tf.keras.applications.ResNet50(weights=None, include_top=False,
                                   input_shape=(*SIZE, 3)).save_weights(folder / "r50.h5")
    import_weights(folder / "r50.h5", "fasterpose", out=folder / "fp.keras", input_size=SIZE)
    return folder / "fp.keras"


def test_a_saved_model_gives_every_layer_and_its_input_statistics(imported):
    start = read_starting_point(imported, "fasterpose")
    assert start.model_options == {"stride_in_1x1": True}  # recorded by import-weights
    model, report = start_from(create("fasterpose", input_size=SIZE, **start.model_options),
                               "fasterpose", start)
    assert len(report.filled) == sum(1 for layer in model.layers if layer.weights)
    for mine, saved in zip(model.get_weights(), start.saved.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, saved)
    assert list(model.get_layer("normalize").get_config()["mean"]) == [123.68, 116.779, 103.939]


def test_other_model_options_are_named(imported):
    start = read_starting_point(imported, "fasterpose")
    with pytest.raises(WeightsMismatch, match=r"fp\.keras: layer res3_b0_1_conv has strides "
                                              r"\(2, 2\), the model \(1, 1\)"):
        start_from(create("fasterpose", input_size=SIZE), "fasterpose", start)


def test_a_model_of_another_architecture_is_refused(imported):
    start = read_starting_point(imported, "simplebaseline_r50")
    target = create("simplebaseline_r50", input_size=SIZE, stride_in_1x1=True)
    with pytest.raises(WeightsMismatch, match=r"has no layer deconv0_conv: it is not a "
                                              r"simplebaseline_r50 model"):
        start_from(target, "simplebaseline_r50", start)
