"""Checkpoint layouts are recognised from their key names alone, and mmpose's equal the
authors' once their prefixes are off."""

import numpy as np
import pytest

from tests.weights import references as ref
from tfpose.errors import DataError
from tfpose.models.litepose import VARIANTS
from tfpose.weights import import_model
from tfpose.weights.layouts import recognise


def _numpy(state):
    return {k: v.numpy() for k, v in state.items()}


@pytest.fixture(scope="module")
def pose_hrnet():
    return ref.PoseHRNet(18)


@pytest.fixture(scope="module")
def simple_baseline():
    return ref.SimpleBaseline(50)


def test_the_authors_and_imagenet_hrnets(pose_hrnet):
    layout, _ = recognise(_numpy(pose_hrnet.pose_state_dict()), "a.pth")
    assert (layout.name, layout.whole, layout.architecture) == ("hrnet", True, "hrnet")
    layout, _ = recognise(_numpy(pose_hrnet.backbone.state_dict()), "b.pth")
    assert (layout.name, layout.whole) == ("hrnet-imagenet", False)
    assert "stage4.2.fuse_layers.3." in layout.unused and "classifier." in layout.unused


def test_resnets_with_and_without_the_pose_head(simple_baseline):
    layout, _ = recognise(_numpy(simple_baseline.pose_state_dict()), "a.pth")
    assert (layout.name, layout.input.channel_order) == ("simplebaseline", "bgr")
    layout, _ = recognise(_numpy(simple_baseline.backbone.state_dict()), "b.pth")
    assert (layout.name, layout.architecture, layout.unused) == ("resnet-imagenet", "resnet",
                                                                 ("fc.",))


def test_litepose():
    layout, _ = recognise(_numpy(ref.LitePose(VARIANTS["s"]).state_dict()), "a.pth")
    assert (layout.name, layout.architecture) == ("litepose", "litepose")


@pytest.mark.parametrize("head, version", [("keypoint_head.", "mmpose-0.x"),
                                           ("head.", "mmpose-1.x")])
def test_mmpose_prefixes_come_off(pose_hrnet, head, version):
    state = _numpy(pose_hrnet.pose_state_dict())
    prefixed = {(head if k.startswith("final_layer") else "backbone.") + k: v
                for k, v in state.items()}
    layout, canonical = recognise(prefixed, "mmpose.pth")
    assert (layout.name, layout.architecture, layout.input.channel_order) == (version, "hrnet",
                                                                              "rgb")
    assert canonical.keys() == state.keys()


def test_mmpose_simple_baseline_imports_to_the_same_weights(simple_baseline, tmp_path):
    """mmpose trains SimpleBaseline on RGB images: same tensors, other input convention."""
    state = simple_baseline.pose_state_dict()
    ref.torch.save(state, tmp_path / "authors.pth")
    ref.torch.save({"meta": {"epoch": 210}, "state_dict": {
        (f"keypoint_head.{k}" if k.startswith(("deconv", "final")) else f"backbone.{k}"): v
        for k, v in state.items()}}, tmp_path / "mmpose.pth")
    authors = import_model(tmp_path / "authors.pth", "simplebaseline_r50", input_size=(64, 64))
    mmpose = import_model(tmp_path / "mmpose.pth", "simplebaseline_r50", input_size=(64, 64))
    assert mmpose.checkpoint.layout.name == "mmpose-0.x"
    mine, theirs = authors.model.get_weights(), mmpose.model.get_weights()
    np.testing.assert_array_equal(mine[0], theirs[0][..., ::-1, :])  # BGR vs RGB first conv
    for a, b in zip(mine[1:], theirs[1:], strict=True):
        np.testing.assert_array_equal(a, b)


def test_unknown_keys_are_refused_naming_the_file():
    with pytest.raises(DataError, match=r"^x\.pth: its keys match no checkpoint layout .*"
                                        r"first keys: encoder\.weight"):
        recognise({"encoder.weight": np.zeros(3)}, "x.pth")
    with pytest.raises(DataError, match="an mmpose checkpoint of a network tfpose does not"):
        recognise({"backbone.patch_embed.weight": np.zeros(3)}, "y.pth")
