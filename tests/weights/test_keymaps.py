"""Every weight-bearing layer of an importable model has its own reference module."""

import pytest

from tfpose.models import create
from tfpose.weights.keymaps import hrnet_target, keymap_for, litepose_target


@pytest.mark.parametrize("name, size", [("hrnet_w18", (64, 64)), ("simplebaseline_r50", (64, 64)),
                                        ("litepose_s", (64, 64)), ("fasterpose", (64, 64))])
def test_every_layer_maps_to_a_module_of_its_own(name, size):
    model = create(name, input_size=size)
    keymap = keymap_for(name)
    targets = {layer.name: keymap.target(layer.name) for layer in model.layers if layer.weights}
    unmapped = [layer for layer, target in targets.items() if target is None]
    # FasterPose's head has no published counterpart; every other layer has one.
    assert unmapped == (["head1_conv", "head1_bn", "head2_conv", "head2_bn", "head"]
                        if name == "fasterpose" else [])
    prefixes = [t.prefix for t in targets.values() if t is not None]
    assert len(prefixes) == len(set(prefixes))


@pytest.mark.parametrize("layer, module", [
    ("stem1_conv", "conv1"), ("stem2_bn", "bn2"),
    ("stage1_b0_down_conv", "layer1.0.downsample.0"), ("stage1_b3_2_bn", "layer1.3.bn2"),
    ("t2_b0_conv", "transition1.0.0"), ("t2_b1_bn", "transition1.1.0.1"),
    ("t4_b3_conv", "transition3.3.0.0"),
    ("s3_m1_b2_k3_2_conv", "stage3.1.branches.2.3.conv2"),
    ("s3_m0_f01_bn", "stage3.0.fuse_layers.0.1.1"),  # from lower resolution: 1x1 conv, BN
    ("s4_m2_f30_d2_conv", "stage4.2.fuse_layers.3.0.2.0"),  # third stride-2 step of 3 -> 0
    ("head", "final_layer")])
def test_hrnet_names_follow_the_authors_modules(layer, module):
    assert hrnet_target(layer).prefix == module


@pytest.mark.parametrize("layer, module, head", [
    ("stem_dw", "first.1.0", False), ("stem_project_bn", "first.3", False),
    ("stage2_b0_dw", "stage.1.0.depth_conv.0", False),
    ("stage4_b9_expand_bn", "stage.3.9.inv.1", False),
    ("head_up1_raw", "deconv_raw.0", True), ("head_up3_bn", "deconv_bnrelu.2.0", True),
    ("head_pred1_refined_conv", "final_refined.0.conv.3", True),
    ("head_pred2_raw_dw_bn", "final_raw.1.conv.1", True)])
def test_litepose_names_follow_the_authors_modules(layer, module, head):
    target = litepose_target(layer)
    assert (target.prefix, target.head) == (module, head)


def test_models_without_published_weights_have_no_key_map():
    assert keymap_for("bihrnet_w32") is None and keymap_for("hourglass_hpm") is None
