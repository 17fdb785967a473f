"""Our float networks equal the references output for output on the same weights.

Each test saves a reference's weights as its authors' checkpoint would hold them, imports the
file with tfpose (``tfpose.weights``) and runs both on the same images: every output within
1e-4 of the reference's range. The references (``tests/weights/references.py``): timm's HRNet,
torchvision's ResNet, ``tf.keras.applications``' ResNet; the pose heads and LitePose written
from the authors' published descriptions.
"""

import numpy as np
import pytest
import tensorflow as tf

from tests.weights import references as ref
from tfpose.models.litepose import VARIANTS
from tfpose.weights import import_model

BOUND = 1e-4  # of each output's range
torch = ref.torch


def _images(size, count=2, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (count, *size, 3)).astype(np.float32)


def _outputs(model, images):
    out = model(images, training=False)
    return [o.numpy() for o in (out if isinstance(out, list) else [out])]


def _layer_output(model, name, images):
    return tf.keras.Model(model.input, model.get_layer(name).output)(images).numpy()


@pytest.mark.slow
def test_hrnet_w32_equals_the_authors_pose_network(tmp_path):
    """The authors' layout (a training checkpoint: ``state_dict`` wrapper, ``module.``
    prefixes) into ``hrnet_w32``: the heatmaps equal the reference's."""
    size = (64, 64)
    net = ref.calibrate(ref.PoseHRNet(32), size)
    path = tmp_path / "pose_hrnet_w32.pth"
    torch.save({"epoch": 210, "state_dict": {f"module.{k}": v
                                             for k, v in net.pose_state_dict().items()}}, path)
    imported = import_model(path, "hrnet_w32", input_size=size)
    assert imported.checkpoint.layout.name == "hrnet" and not imported.report.left
    images = _images(size)
    assert ref.relative_difference(_outputs(imported.model, images),
                                   ref.run(net, ref.torch_input(images))) <= BOUND


@pytest.mark.slow
def test_timm_imagenet_hrnet_fills_every_branch_of_the_stem_and_stages(tmp_path):
    """timm's ImageNet HRNet-W18 as safetensors (the Hugging Face hub's format) initialises
    hrnet_w18: all three branches of stage 3 and the fused stage-4 output equal timm's; the
    classifier and the fusions only it reads are left, on purpose, and the head is fresh."""
    from safetensors.torch import save_file

    size = (64, 96)
    net = ref.calibrate(ref.PoseHRNet(18), size)
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in net.backbone.state_dict().items()}, str(path))
    imported = import_model(path, "hrnet_w18", input_size=size)
    assert imported.checkpoint.layout.name == "hrnet-imagenet"
    assert imported.report.left == ["head"]
    assert set(imported.report.unused) >= {"incre_modules.", "classifier.",
                                           "stage4.2.fuse_layers.1."}
    images = _images(size)
    b = net.backbone
    with torch.no_grad():
        x = b.layer1(net.stem(ref.torch_input(images)))
        stage2 = b.stage2([t(x) for t in b.transition1])
        stage3 = b.stage3([t(stage2[-1]) if not isinstance(t, torch.nn.Identity) else stage2[i]
                           for i, t in enumerate(b.transition2)])
        stage4 = b.stages(net.stem(ref.torch_input(images)))[0]
    theirs = [t.numpy().transpose(0, 2, 3, 1) for t in (*stage3, stage4)]
    ours = [_layer_output(imported.model, f"s3_m3_f{i}_relu", images) for i in range(3)]
    ours.append(_layer_output(imported.model, "s4_m2_f0_relu", images))
    assert ref.relative_difference(ours, theirs) <= BOUND


@pytest.mark.slow
def test_simple_baseline_r50_equals_the_authors_network_on_bgr_weights(tmp_path):
    """The SimpleBaseline checkpoints were trained on OpenCV's BGR arrays normalised with
    ImageNet's RGB statistics: fed RGB, the imported model computes what the reference computes
    on the BGR image."""
    size = (64, 64)
    net = ref.calibrate(ref.SimpleBaseline(50), size)
    path = tmp_path / "pose_resnet_50.pth"
    torch.save(net.pose_state_dict(), path)
    imported = import_model(path, "simplebaseline_r50", input_size=size)
    assert imported.checkpoint.layout.input.channel_order == "bgr"
    images = _images(size)
    assert ref.relative_difference(_outputs(imported.model, images),
                                   ref.run(net, ref.torch_input(images, "bgr"))) <= BOUND


def test_torchvision_resnet_initialises_the_fasterpose_backbone(tmp_path):
    """torchvision's ImageNet ResNet-50 (``fc`` included) fills FasterPose's backbone: the 1/32
    features equal torchvision's; the head is left, the classifier unused."""
    size = (64, 64)
    net = ref.calibrate(ref.SimpleBaseline(50), size)
    path = tmp_path / "resnet50.pth"
    torch.save(net.backbone.state_dict(), path)
    imported = import_model(path, "fasterpose", input_size=size)
    assert imported.checkpoint.layout.name == "resnet-imagenet"
    assert set(imported.report.left) == {"head1_conv", "head1_bn", "head2_conv", "head2_bn",
                                         "head"}
    assert imported.report.unused == {"fc.": 2}
    images = _images(size)
    with torch.no_grad():
        theirs = net.features(ref.torch_input(images)).numpy().transpose(0, 2, 3, 1)
    ours = _layer_output(imported.model, "res5_b2_relu", images)
    assert ref.relative_difference([ours], [theirs]) <= BOUND


def test_litepose_xs_equals_the_authors_network(tmp_path):
    size = (128, 128)
    net = ref.calibrate(ref.LitePose(VARIANTS["xs"]), size)
    assert sum(p.numel() for p in net.parameters()) == 1_675_912  # the authors' count
    path = tmp_path / "LitePose-XS.pth.tar"
    torch.save({"epoch": 3, "perf": 0.41, "state_dict": net.state_dict()}, path)
    imported = import_model(path, "litepose_xs", input_size=size)
    assert imported.info.kind == "bottomup" and imported.checkpoint.suggested_model() == \
        "litepose_xs"
    images = _images(size)
    assert ref.relative_difference(_outputs(imported.model, images),
                                   ref.run(net, ref.torch_input(images))) <= BOUND
