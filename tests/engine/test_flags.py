import argparse

import pytest

from tfpose.config import TrainConfig
from tfpose.engine.flags import (
    ModelPreset,
    model_option,
    parse_args,
    train_config,
    training_parser,
)

PRESETS = {
    "small": ModelPreset(input_size=(96, 64), sigma=1.5, epochs=4, batch_size=16,
                         learning_rate=2e-3, options={"width": 16, "modules": (1, 1, 1)}),
    "paper": ModelPreset(input_size=(256, 192), sigma=2.0, epochs=100, batch_size=32,
                         learning_rate=1e-3),
}


def parse(argv, **kwargs):
    return parse_args(training_parser("test", method="demo", presets=PRESETS, **kwargs), argv)


def test_defaults_come_from_the_preset(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_RUNS", str(tmp_path))
    args = parse([])
    assert args.data == "synthetic" and args.data_root is None
    assert args.input_size == (96, 64) and args.epochs == 4 and args.batch_size == 16
    assert args.lr == 2e-3 and args.optimizer == "adam" and args.schedule == "cosine"
    assert args.strategy == "default" and not args.resume and args.seed == 0
    assert args.model_options == {"width": 16, "modules": (1, 1, 1)}
    assert args.out == tmp_path / "demo"
    assert not hasattr(args, "teacher")


def test_explicit_flags_win_over_the_preset():
    args = parse(["--model-size", "paper", "--input-size", "128x96", "--epochs", "2",
                  "--batch-size", "8", "--lr", "0.01", "--optimizer", "bop",
                  "--model-option", "width=8", "--model-option", "modules=(1, 2, 1)",
                  "--strategy", "mirrored", "--resume", "--out", "x", "--seed", "3",
                  "--data", "coco", "--data-root", "/data/coco", "--teacher", "t.keras",
                  "--steps-per-epoch", "5", "--synthetic-images", "10", "4"], teacher=True)
    assert args.input_size == (128, 96) and args.epochs == 2 and args.batch_size == 8
    assert args.lr == 0.01 and args.optimizer == "bop" and args.strategy == "mirrored"
    assert args.model_options == {"width": 8, "modules": (1, 2, 1)}
    assert args.resume and str(args.out) == "x" and args.seed == 3
    assert str(args.teacher) == "t.keras" and args.steps_per_epoch == 5
    assert args.synthetic_images == [10, 4]
    config = train_config(args, epochs=7)
    assert config == TrainConfig(epochs=7, batch_size=8, learning_rate=0.01, optimizer="bop",
                                 steps_per_epoch=5)


def test_value_parsers_name_what_is_wrong():
    assert model_option("name=abc") == ("name", "abc")
    assert model_option("head_prior=0.05") == ("head_prior", 0.05)
    with pytest.raises(argparse.ArgumentTypeError, match="KEY=VALUE"):
        model_option("width")


@pytest.mark.parametrize("argv", [["--input-size", "96"], ["--data", "imagenet"],
                                  ["--epochs", "0"], ["--lr", "-1"], ["--strategy", "gpu"]])
def test_bad_flags_exit_with_status_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse(argv)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_train_config_checks_its_values():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="sgd")
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)


def test_lr_base_batch_scales_the_learning_rate_linearly():
    from tfpose.engine.distribute import describe_learning_rate

    args = parse(["--lr", "1e-3", "--lr-base-batch", "32", "--batch-size", "128"])
    assert args.lr == pytest.approx(4e-3) and args.base_lr == 1e-3
    assert describe_learning_rate(args.lr, args.base_lr, 32, 128) == (
        "learning rate 0.004 for global batch 128 (linear scaling of 0.001 at batch 32)")
    unscaled = parse(["--lr", "1e-3", "--batch-size", "128"])
    assert unscaled.lr == 1e-3 and unscaled.lr_base_batch is None
    assert "as given, not scaled" in describe_learning_rate(1e-3, 1e-3, None, 128)


def test_data_source_flags():
    args = parse(["--data", "coco", "--data-source", "tfds", "--data-dir", "gs://b/tfds"])
    assert args.data_source == "tfds" and args.data_dir == "gs://b/tfds"
    assert parse([]).data_source == "raw"
    with pytest.raises(SystemExit):
        parse(["--data-source", "hdf5"])


STEP_PRESETS = {**PRESETS, "long": ModelPreset(
    input_size=(256, 256), sigma=2.0, epochs=500, batch_size=16, learning_rate=4e-3,
    schedule="step", lr_steps=(350, 480))}


def parse_step(argv):
    return parse_args(training_parser("test", method="demo", presets=STEP_PRESETS), argv)


def test_the_schedule_comes_from_the_preset_and_flags_win():
    args = parse_step(["--model-size", "long"])
    assert args.schedule == "step" and args.lr_steps == (350, 480)
    config = train_config(args)
    assert (config.schedule, config.lr_steps, config.lr_step_factor) == ("step", (350, 480),
                                                                         0.1)
    # The preset's steps belong to its step schedule: another schedule drops them.
    cosine = parse_step(["--model-size", "long", "--epochs", "120", "--schedule", "cosine"])
    assert cosine.schedule == "cosine" and cosine.lr_steps == ()
    assert train_config(cosine).lr_steps == ()
    mine = parse_step(["--schedule", "step", "--lr-steps", "2", "3"])
    assert mine.model_size == "small" and mine.lr_steps == (2, 3)
    assert parse_step([]).schedule == "cosine"


@pytest.mark.parametrize("argv, message", [
    (["--schedule", "step"], "--schedule step needs increasing epochs in --lr-steps, got none"),
    (["--lr-steps", "3"], "--lr-steps is for --schedule step, not cosine"),
    (["--schedule", "step", "--lr-steps", "3", "2"], "increasing epochs"),
])
def test_bad_step_schedules_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse_step(argv)
    assert message in capsys.readouterr().err
