"""Tensor by tensor: each checkpoint tensor lands in exactly one weight, in Keras' layout, and a
checkpoint that does not fit is refused whole, naming the key and both shapes."""

import numpy as np
import pytest

from tests.weights import references as ref
from tfpose.models import create
from tfpose.models.litepose import VARIANTS
from tfpose.weights.keymaps import keymap_for
from tfpose.weights.layouts import LITEPOSE, recognise
from tfpose.weights.transfer import WeightsMismatch, fill_model

SIZE = (64, 64)


@pytest.fixture(scope="module")
def authors_state():
    """The LitePose-XS authors' state dict (names and shapes), as numpy arrays."""
    net = ref.LitePose(VARIANTS["xs"])
    return {k: v.numpy() for k, v in net.state_dict().items()}


@pytest.fixture
def model():
    return create("litepose_xs", input_size=SIZE)


def _fill(model, state):
    layout, state = recognise(state, "ckpt.pth")
    assert layout is LITEPOSE
    return fill_model(model, state, keymap_for("litepose_xs"), layout, "ckpt.pth")


def test_each_tensor_lands_in_exactly_one_weight(model, authors_state):
    tensors = [k for k in authors_state if not k.endswith("num_batches_tracked")]
    marked = {k: np.full(v.shape, i + 1, np.float32) if k in tensors else v
              for i, (k, v) in enumerate(authors_state.items())}
    report = _fill(model, marked)
    assert report.tensors == len(tensors) and not report.left and not report.unused
    found = []
    for weight in model.weights:
        values = np.unique(weight.numpy())
        assert len(values) == 1, f"{weight.name} mixes tensors {values[:4]}"
        found.append(int(values[0]))
    assert sorted(found) == [i + 1 for i, k in enumerate(authors_state) if k in tensors]


def test_kernels_take_pytorchs_layouts(model, authors_state):
    state = {k: np.arange(v.size, dtype=np.float32).reshape(v.shape)
             for k, v in authors_state.items()}
    _fill(model, state)
    conv = state["first.0.0.weight"]  # [out, in, kh, kw]
    np.testing.assert_array_equal(model.get_layer("stem_conv").kernel.numpy(),
                                  conv.transpose(2, 3, 1, 0))
    depthwise = state["stage.1.0.depth_conv.0.weight"]  # [C, 1, kh, kw]
    np.testing.assert_array_equal(model.get_layer("stage2_b0_dw").depthwise_kernel.numpy(),
                                  depthwise.transpose(2, 3, 0, 1))
    transposed = state["deconv_refined.1.weight"]  # [in, out, kh, kw]
    kernel = model.get_layer("head_up2_refined").kernel.numpy()  # [kh, kw, out, in]
    assert kernel[1, 2, 3, 4] == transposed[4, 3, 1, 2]
    bn, module = model.get_layer("head_up3_bn"), "deconv_bnrelu.2.0"
    np.testing.assert_array_equal(bn.moving_variance.numpy(), state[f"{module}.running_var"])
    np.testing.assert_array_equal(bn.gamma.numpy(), state[f"{module}.weight"])


def _refused(model, state, *phrases):
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(WeightsMismatch) as caught:
        _fill(model, state)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("ckpt.pth: ")
    for phrase in phrases:
        assert phrase in message, message
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)  # nothing assigned
    return message


def test_a_missing_key_is_named_with_its_shape(model, authors_state):
    state = dict(authors_state)
    del state["stage.2.3.point_conv.1.running_mean"]
    _refused(model, state, "key stage.2.3.point_conv.1.running_mean (48,) is missing",
             "layer stage3_b3_project_bn")


def test_a_key_of_another_shape_is_named_with_both_shapes(model, authors_state):
    state = {**authors_state, "deconv_raw.0.weight": np.zeros((48, 24, 4, 4), np.float32)}
    _refused(model, state, "key deconv_raw.0.weight has shape (48, 24, 4, 4)",
             "needs (48, 16, 4, 4)", "layer head_up1_raw")


def test_a_key_left_over_is_named(model, authors_state):
    state = {**authors_state, "final_refined.2.conv.0.weight": np.zeros((8, 1, 5, 5))}
    _refused(model, state, "key final_refined.2.conv.0.weight (8, 1, 5, 5)",
             "land in no weight of litepose_xs")
