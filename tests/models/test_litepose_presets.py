"""LitePose's presets: the authors' recipe (mit-han-lab/litepose configs) and the quick demo."""

import importlib.util

import pytest

from tests.training.scripts import REPO
from tfpose.engine.flags import parse_args, train_config, training_parser
from tfpose.engine.optimizers import learning_rate_schedule
from tfpose.models import litepose_presets
from tfpose.models.litepose import DEFAULT_INPUT_SIZES
from tfpose.models.litepose_presets import PRESETS


def parse(argv):
    return parse_args(training_parser("test", method="litepose", presets=PRESETS), argv)


@pytest.mark.parametrize("variant, size", [("xs", 256), ("s", 448), ("m", 448), ("l", 512)])
def test_every_variant_has_the_authors_recipe_at_its_input_size(variant, size):
    """experiments/{coco,crowd_pose}/mobilenet/mobile.yaml: END_EPOCH 500, Adam, LR 4e-3,
    LR_STEP [350, 480] x LR_FACTOR 0.1, IMAGES_PER_GPU 16 on GPUS (0,), SIGMA 2; img_size of
    mobile_configs/search-{XS,S,M,L}.json, for CrowdPose and COCO alike."""
    preset = PRESETS[variant]
    assert preset.input_size == (size, size) == (DEFAULT_INPUT_SIZES[variant],) * 2
    assert (preset.epochs, preset.batch_size, preset.learning_rate) == (500, 16, 4e-3)
    assert (preset.schedule, preset.lr_steps, preset.sigma) == ("step", (350, 480), 2.0)
    assert preset.strides == (4, 2) and preset.output == "bottomup" and not preset.options


def test_paper_is_litepose_s_and_the_script_builds_that_variant():
    assert PRESETS["paper"] is PRESETS[litepose_presets.PAPER_VARIANT] is PRESETS["s"]
    spec = importlib.util.spec_from_file_location(
        "train_litepose", REPO / "training" / "train_litepose.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.VARIANT["paper"] == "s" and set(script.VARIANT) == set(PRESETS)


def test_paper_flags_train_with_the_step_schedule():
    args = parse(["--model-size", "paper", "--data", "crowdpose"])
    config = train_config(args)
    assert args.input_size == (448, 448)
    assert (config.epochs, config.batch_size, config.learning_rate) == (500, 16, 4e-3)
    assert (config.optimizer, config.schedule, config.lr_steps) == ("adam", "step", (350, 480))
    steps_per_epoch = 10
    rate = learning_rate_schedule(config, 500 * steps_per_epoch)
    assert [float(rate(epoch * steps_per_epoch)) for epoch in (0, 349, 350, 479, 480, 499)] == \
        pytest.approx([4e-3, 4e-3, 4e-4, 4e-4, 4e-5, 4e-5])


def test_the_former_recipe_and_the_quick_demo_stay_cosine():
    former = train_config(parse(["--model-size", "s", "--epochs", "120", "--schedule", "cosine",
                                 "--batch-size", "32"]))
    assert (former.epochs, former.batch_size, former.schedule, former.lr_steps) == (
        120, 32, "cosine", ())
    small = parse([])
    assert small.model_size == "small" and small.schedule == "cosine"
    assert small.input_size == (128, 128) and small.epochs == 12 and small.batch_size == 16
