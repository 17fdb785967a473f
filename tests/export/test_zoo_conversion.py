"""Every float zoo model converts at its documented input size (the binary ones, through LCE:
tests/models/test_zoo.py): builtin TFLite ops only, weights stored once (file about 4 bytes per
parameter in fp32), and the file computes what the Keras model computes."""

import numpy as np
import pytest

from tfpose.export.convert import convert
from tfpose.export.job import load_source
from tfpose.models.zoo import MODELS
from tfpose.runtime.interpreter import LCEInterpreterRunner

from ..models.test_zoo import FLOAT_MODELS

# Float models in a stock TFLite runtime: no LCE op, no TensorFlow (Flex) op.
NOT_BUILTIN = ("Lce", "Flex")


@pytest.mark.slow
@pytest.mark.parametrize("name", FLOAT_MODELS)
def test_float_zoo_model_converts_to_builtin_tflite(name):
    source = load_source(name)
    conversion = convert(source.model, source.info)
    report = conversion.report
    assert [op for op in report["ops"] if op.startswith(NOT_BUILTIN)] == []
    assert report["inputs"][0]["shape"] == [1, *MODELS[name].input_size, 3]
    # fp32 weights once (BatchNorm folded into the convs: a little less than the Keras count)
    # plus a little graph and metadata; a duplicated constant would double it
    assert 3.8 * report["params"] <= report["flatbuffer_bytes"] <= 4.1 * report["params"] + 2e5

    image = np.random.default_rng(0).uniform(0, 255, (1, *MODELS[name].input_size, 3))
    expected = source.model.predict(image, verbose=0)
    got = LCEInterpreterRunner(conversion.flatbuffer, use_xnnpack=True)(image)
    expected, got = (expected, got) if isinstance(expected, list) else ([expected], [got])
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_allclose(have, want, atol=1e-4 * np.ptp(want) + 1e-6)
