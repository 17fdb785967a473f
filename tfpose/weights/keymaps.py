"""Which module of the reference implementation each weight-bearing layer of our models is.

A key map turns one of our Keras layer names into the module path the authors' PyTorch code
gives the same layer (its ``state_dict`` prefix), e.g. HRNet's ``s3_m1_f02_d1_conv`` into
``stage3.1.fuse_layers.0.2.1.0``. The reference names (facts of the authors' code, listed in
``../shared/REFERENCE.md``):

* HRNet (deep-high-resolution-net.pytorch ``pose_hrnet.py``; timm's ``hrnet_w*`` and mmpose use
  the same backbone names): ``conv1``, ``bn1``, ``conv2``, ``bn2``; ``layer1.{b}`` bottlenecks;
  ``transition{t}.{i}.{0,1}`` (a changed width) or ``transition{t}.{i}.0.{0,1}`` (a new branch);
  ``stage{s}.{m}.branches.{i}.{b}.{conv,bn}{1,2}``; ``stage{s}.{m}.fuse_layers.{i}.{j}.{0,1}``
  (from a lower resolution: 1x1 conv, BN, nearest upsampling) or ``...{i}.{j}.{k}.{0,1}`` (the
  k-th stride-2 3x3 conv from a higher one); ``final_layer``.
* ResNet (torchvision; the SimpleBaseline authors' ``pose_resnet.py``): ``conv1``, ``bn1``,
  ``layer{1..4}.{b}.{conv,bn}{1,2,3}``, ``...downsample.{0,1}``; SimpleBaseline adds
  ``deconv_layers.{3i}`` (transposed conv), ``deconv_layers.{3i+1}`` (BN) and ``final_layer``.
* LitePose (mit-han-lab/litepose ``pose_mobilenet.py``): ``first.{0,1}.{0,1}`` (conv/BN, depthwise/
  BN), ``first.2`` / ``first.3`` (1x1 conv / BN); ``stage.{s}.{b}.{inv,depth_conv,point_conv}
  .{0,1}``; ``deconv_refined.{i}``, ``deconv_raw.{i}``, ``deconv_bnrelu.{i}.0``;
  ``final_refined.{p}.conv.{0,1,3}`` and ``final_raw.{p}.conv.{0,1,3}`` (depthwise, BN, 1x1).

A :class:`Target` also says whether the layer belongs to the pose head, which an ImageNet
backbone checkpoint leaves as initialised.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """The reference module of one layer: its ``state_dict`` prefix, and whether it is head."""

    prefix: str
    head: bool = False


@dataclass(frozen=True)
class KeyMap:
    """How one of our model families names its layers in the reference implementation.

    Attributes:
      family: our model family (``hrnet``, ``simplebaseline``, ``fasterpose``, ``litepose``).
      accepts: checkpoint architectures (:class:`~tfpose.weights.layouts.Layout` ``architecture``)
        whose weights fit it: a whole pose network, or an ImageNet backbone.
      target: our layer name -> its :class:`Target`, or None when the reference has no such
        layer (FasterPose's head: no published FasterPose weights exist).
      first_conv: the reference key of the first conv's weight (the one that reads the image).
    """

    family: str
    accepts: tuple[str, ...]
    target: Callable[[str], Target | None]
    first_conv: str


BN_OR_CONV = {"conv": 0, "bn": 1}  # index of the conv and its BatchNorm in a Sequential


def _bottleneck_part(part: str) -> str | None:
    """``1_conv`` -> ``conv1``, ``down_bn`` -> ``downsample.1`` (ResNet / HRNet stage 1)."""
    if m := re.fullmatch(r"([123])_(conv|bn)", part):
        return f"{m[2]}{m[1]}"
    if m := re.fullmatch(r"down_(conv|bn)", part):
        return f"downsample.{BN_OR_CONV[m[1]]}"
    return None


def _join(*parts) -> str | None:
    return None if None in parts else ".".join(str(p) for p in parts)


def hrnet_target(layer: str) -> Target | None:
    """Our :mod:`tfpose.models.hrnet` names -> the authors' ``pose_hrnet.py`` names."""
    if m := re.fullmatch(r"stem([12])_(conv|bn)", layer):
        return Target(f"{m[2]}{m[1]}")
    if m := re.fullmatch(r"stage1_b(\d+)_(.+)", layer):
        name = _join("layer1", m[1], _bottleneck_part(m[2]))
        return Target(name) if name else None
    if m := re.fullmatch(r"t(\d)_b(\d)_(conv|bn)", layer):  # the transition into stage t
        stage, branch = int(m[1]), int(m[2])
        new_branch = branch == stage - 1  # grown from the lowest branch: a Sequential in one
        middle = f"{branch}.0" if new_branch else f"{branch}"
        return Target(f"transition{stage - 1}.{middle}.{BN_OR_CONV[m[3]]}")
    if m := re.fullmatch(r"s(\d)_m(\d+)_b(\d)_k(\d+)_([12])_(conv|bn)", layer):
        stage, module, branch, block, conv, kind = m.groups()
        return Target(f"stage{stage}.{module}.branches.{branch}.{block}.{kind}{conv}")
    if m := re.fullmatch(r"s(\d)_m(\d+)_f(\d)(\d)(?:_d(\d))?_(conv|bn)", layer):
        stage, module, i, j, step, kind = m.groups()
        chain = "" if step is None else f"{step}."
        return Target(f"stage{stage}.{module}.fuse_layers.{i}.{j}.{chain}{BN_OR_CONV[kind]}")
    if layer == "head":
        return Target("final_layer", head=True)
    return None


def resnet_backbone_target(layer: str) -> Target | None:
    """Our :mod:`tfpose.layers.resnet_blocks` names -> torchvision's ResNet names."""
    if m := re.fullmatch(r"stem_(conv|bn)", layer):
        return Target(f"{m[1]}1")
    if m := re.fullmatch(r"res(\d)_b(\d+)_(.+)", layer):
        name = _join(f"layer{int(m[1]) - 1}", m[2], _bottleneck_part(m[3]))
        return Target(name) if name else None
    return None


def simple_baseline_target(layer: str) -> Target | None:
    """SimpleBaseline: the ResNet backbone, then ``deconv_layers`` and ``final_layer``."""
    if m := re.fullmatch(r"deconv(\d)_(conv|bn)", layer):
        return Target(f"deconv_layers.{3 * int(m[1]) + BN_OR_CONV[m[2]]}", head=True)
    if layer == "head":
        return Target("final_layer", head=True)
    return resnet_backbone_target(layer)


LITEPOSE_BLOCK_PARTS = {"expand_conv": "inv.0", "expand_bn": "inv.1", "dw": "depth_conv.0",
                        "dw_bn": "depth_conv.1", "project_conv": "point_conv.0",
                        "project_bn": "point_conv.1"}
LITEPOSE_STEM = {"stem_conv": "first.0.0", "stem_bn": "first.0.1", "stem_dw": "first.1.0",
                 "stem_dw_bn": "first.1.1", "stem_project_conv": "first.2",
                 "stem_project_bn": "first.3"}
LITEPOSE_PREDICTION_PARTS = {"dw": "conv.0", "dw_bn": "conv.1", "conv": "conv.3"}


def litepose_target(layer: str) -> Target | None:
    """Our :mod:`tfpose.models.litepose` names -> the authors' ``pose_mobilenet.py`` names."""
    if layer in LITEPOSE_STEM:
        return Target(LITEPOSE_STEM[layer])
    if (m := re.fullmatch(r"stage(\d)_b(\d+)_(.+)", layer)) and m[3] in LITEPOSE_BLOCK_PARTS:
        return Target(f"stage.{int(m[1]) - 1}.{m[2]}.{LITEPOSE_BLOCK_PARTS[m[3]]}")
    if m := re.fullmatch(r"head_up(\d)_(refined|raw|bn)", layer):
        step = int(m[1]) - 1
        name = f"deconv_bnrelu.{step}.0" if m[2] == "bn" else f"deconv_{m[2]}.{step}"
        return Target(name, head=True)
    if (m := re.fullmatch(r"head_pred(\d)_(refined|raw)_(.+)", layer)) and \
            m[3] in LITEPOSE_PREDICTION_PARTS:
        return Target(f"final_{m[2]}.{int(m[1]) - 1}.{LITEPOSE_PREDICTION_PARTS[m[3]]}",
                      head=True)
    return None


KEYMAPS: dict[str, KeyMap] = {
    "hrnet": KeyMap("hrnet", ("hrnet",), hrnet_target, "conv1.weight"),
    "simplebaseline": KeyMap("simplebaseline", ("simplebaseline", "resnet"),
                             simple_baseline_target, "conv1.weight"),
    "fasterpose": KeyMap("fasterpose", ("resnet",), resnet_backbone_target, "conv1.weight"),
    "litepose": KeyMap("litepose", ("litepose",), litepose_target, "first.0.0.weight"),
}


def keymap_for(model_name: str) -> KeyMap | None:
    """The key map of a zoo model name (``hrnet_w32``, ``litepose_s``...), or None for models
    with no published weights (BiHRNet, the binary hourglasses)."""
    return KEYMAPS.get(model_name.split("_")[0])
