"""Every float architecture of the zoo converts at its documented input size (the binary ones,
through LCE: tests/models/test_zoo.py): builtin TFLite ops only, weights stored once (file about
4 bytes per parameter in fp32), and the file computes what the Keras model computes.

One model per architecture: HRNet-W18 / W48 are W32's layers at other widths and
SimpleBaseline-R101 / R152 are R50's blocks repeated, so they convert to the same ops (at about
70 s each, they would add 4 minutes of test time); each LitePose size is its own searched
architecture.
"""

import numpy as np
import pytest

from tfpose.export.convert import convert
from tfpose.export.job import load_source
from tfpose.models.zoo import MODELS
from tfpose.runtime.interpreter import LCEInterpreterRunner

from ..models.test_zoo import FLOAT_MODELS

# Float models in a stock TFLite runtime: no LCE op, no TensorFlow (Flex) op.
NOT_BUILTIN = ("Lce", "Flex")


CONVERTED = ["hrnet_w32", "litepose_xs", "litepose_s", "litepose_m", "litepose_l",
             "simplebaseline_r50", "fasterpose"]


def test_every_float_family_is_converted():
    def family(name):
        return name.split("_")[0]

    assert set(CONVERTED) <= set(FLOAT_MODELS)
    assert {family(name) for name in FLOAT_MODELS} == {family(name) for name in CONVERTED}


@pytest.mark.slow
@pytest.mark.parametrize("name", CONVERTED)
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
