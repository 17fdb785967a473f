import json

import pytest
import tensorflow as tf

from tfpose.engine import distribute
from tfpose.engine.callbacks import NonFiniteLoss
from tfpose.engine.distribute import ConfigError
from tfpose.engine.flags import ModelPreset, parse_args, training_parser
from tfpose.engine.run import default_model_path, default_out_dir, run_main, start_run
from tfpose.errors import DataError

PRESETS = {"small": ModelPreset(input_size=(64, 64), sigma=1.0, epochs=1, batch_size=4,
                                learning_rate=1e-3, options={"width": 8})}


def args_for(argv):
    return parse_args(training_parser("test", method="demo", presets=PRESETS), argv)


def test_default_paths_follow_tfpose_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_RUNS", str(tmp_path))
    assert default_out_dir("litepose") == tmp_path / "litepose"
    assert default_model_path() == tmp_path / "bihrnet" / "model.keras"
    monkeypatch.delenv("TFPOSE_RUNS")
    assert str(default_model_path()) == "runs/bihrnet/model.keras"


def test_start_run_writes_the_config_and_refuses_to_resume_another_run(tmp_path):
    run = start_run(args_for(["--out", str(tmp_path), "--seed", "3"]), "demo")
    assert run.chief and run.seed == 3 and run.out == tmp_path and not run.resume
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["method"] == "demo" and config["input_size"] == [64, 64]
    assert config["model_options"] == {"width": 8} and config["preset"]["sigma"] == 1.0

    resumed = start_run(args_for(["--out", str(tmp_path), "--resume", "--epochs", "5"]), "demo")
    assert resumed.resume
    with pytest.raises(ConfigError, match=r"input_size: \[64, 64\] -> \[96, 96\]"):
        start_run(args_for(["--out", str(tmp_path), "--resume", "--input-size", "96x96"]),
                  "demo")


def test_run_main_prints_user_errors_as_one_line(capsys):
    def bad_data(argv):
        raise DataError("/data/coco", "dataset root not found; expected coco layout: ...")

    def diverged(argv):
        raise NonFiniteLoss("teacher: the loss became nan at step 7")

    def bug(argv):
        raise KeyError("a bug keeps its traceback")

    def interrupted(argv):
        raise KeyboardInterrupt

    assert run_main(bad_data) == 2
    assert capsys.readouterr().err == ("error: /data/coco: dataset root not found; expected "
                                       "coco layout: ...\n")
    assert run_main(diverged) == 1
    assert capsys.readouterr().err == "error: teacher: the loss became nan at step 7\n"
    assert run_main(interrupted) == 130
    assert "--resume" in capsys.readouterr().err
    with pytest.raises(KeyError):
        run_main(bug)
    assert run_main(lambda argv: None) == 0


def test_strategies(monkeypatch):
    default = distribute.make_strategy("default")
    assert default.num_replicas_in_sync == 1 and distribute.is_chief(default)
    mirrored = distribute.make_strategy("mirrored")
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert distribute.per_replica_batch_size(8, mirrored) == 8 // mirrored.num_replicas_in_sync
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="TF_CONFIG"):
        distribute.make_strategy("multiworker")
    with pytest.raises(ConfigError, match="--strategy must be one of"):
        distribute.make_strategy("gpu")


def test_batch_size_must_split_over_replicas():
    class TwoReplicas:
        num_replicas_in_sync = 2

    with pytest.raises(ConfigError, match="multiple of the 2 replicas"):
        distribute.per_replica_batch_size(5, TwoReplicas())
