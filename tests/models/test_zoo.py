import json

import numpy as np
import pytest
import tensorflow as tf

from tfpose.cli import main
from tfpose.export.lce import lce_report
from tfpose.layers.binary import QuantPolicy
from tfpose.models import create, list_models
from tfpose.models.summary import model_summary
from tfpose.models.zoo import MODELS, entry

BINARY_MODELS = ["bihrnet_w18", "bihrnet_w32", "hourglass_hpm", "hourglass_bottleneck_binary"]


FLOAT_MODELS = ["hrnet_w18", "hrnet_w32", "hrnet_w48", "litepose_xs", "litepose_s", "litepose_m",
                "litepose_l", "simplebaseline_r50", "simplebaseline_r101", "simplebaseline_r152",
                "fasterpose"]
# Published cost at the documented input size, in each paper's own counting convention.
PUBLISHED_GMACS = {"litepose_xs": 1.2, "litepose_s": 5.0, "litepose_m": 7.8, "litepose_l": 13.8,
                   "simplebaseline_r50": 8.9, "hrnet_w32": 7.1}


def test_names():
    assert set(BINARY_MODELS) | set(FLOAT_MODELS) == set(list_models())
    for unknown in ("hrnet_x99", "litepose_xl", "bihrnet_w0", "hrnet_w"):
        with pytest.raises(ValueError, match=f"unknown model '{unknown}'"):
            create(unknown)


def test_hrnet_and_bihrnet_come_in_any_width():
    """``hrnet_w16`` is the W32 entry at width 16, as the small training preset builds it."""
    small = {"modules": (1, 1, 1), "branch_blocks": 1, "stage1_blocks": 1}
    for family in ("hrnet", "bihrnet"):
        by_name = create(f"{family}_w16", input_size=(64, 64), **small)
        by_option = create(f"{family}_w32", input_size=(64, 64), width=16, **small)
        assert by_name.name == by_option.name == f"{family}_w16"
        assert by_name.count_params() == by_option.count_params()
        assert entry(f"{family}_w16").description == entry(f"{family}_w32").description.replace(
            "W32", "W16")


def test_cli_lists_models_name_first(capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == list_models()


def test_cli_summary_json(capsys):
    assert main(["summary", "hourglass_hpm", "--input-size", "64x64", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {"params", "macs", "binary_macs", "float_macs", "ops", "size_bytes_float32",
            "size_bytes_deployed"} <= set(summary)
    assert summary["binary_macs"] + summary["float_macs"] == summary["macs"]
    assert summary["ops"] == round(summary["binary_macs"] / 64 + summary["float_macs"])
    assert main(["summary", "hourglass_hpm", "--input-size", "64x64"]) == 0
    printed = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert int(printed["ops"]) == summary["ops"] and int(printed["macs"]) == summary["macs"]


def test_ops_count_binary_macs_at_one_64th():
    """OPs = binary MACs / 64 + float MACs (Bi-Real Net, ReActNet), by hand on two convs."""
    x = tf.keras.Input((8, 8, 3))
    y = tf.keras.layers.Conv2D(32, 3, padding="same", use_bias=False)(x)  # 8*8 * 3*3*3 * 32
    y = QuantPolicy().conv(32)(y)  # binary: 8*8 * 3*3*32 * 32
    summary = model_summary(tf.keras.Model(x, y))
    assert (summary["float_macs"], summary["binary_macs"]) == (55_296, 589_824)
    assert summary["ops"] == 589_824 // 64 + 55_296 == 64_512
    y = QuantPolicy().float_twin().conv(32)(tf.keras.layers.Conv2D(32, 3)(x))  # all float: x1
    assert model_summary(tf.keras.Model(x, y))["ops"] == 6 * 6 * 27 * 32 + 6 * 6 * 9 * 32 * 32


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=() if n == "litepose_xs" else pytest.mark.slow)
    for n in PUBLISHED_GMACS])
def test_cli_summary_matches_the_published_cost(name, capsys):
    """`tfpose summary` counts like the model's paper: within 10% (LitePose, the issue's
    target) or 5% (HRNet, SimpleBaseline)."""
    assert main(["summary", name, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    tolerance = 0.1 if name.startswith("litepose") else 0.05
    assert summary["gmacs_convention"] == pytest.approx(PUBLISHED_GMACS[name], rel=tolerance)


def test_cli_lce_check_json(capsys):
    code = main(["lce-check", "hourglass_bottleneck_binary", "--input-size", "64x64", "--json",
                 "--no-timing"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["lce_bconv2d"] == report["quant_conv2d"] == 51
    assert report["not_binarised"] == [] and report["flatbuffer_bytes"] > 0
    # Bottleneck blocks: conv1 and conv2 have a BN and feed the next binary conv (bit-packed);
    # conv3 has none (pre-activation: the BN comes after the residual add) and feeds the add.
    assert report["conv_totals"] == {
        "convs": 51, "with_bn": 34, "bn_fused": 34, "bitpacked_outputs": 34,
        "channels_in_not_multiple_of_32": 0, "channels_out_not_multiple_of_8": 0}
    for row in report["convs"]:
        last = row["layer"].endswith("conv3_bconv")
        assert row["bn_fused"] is (None if last else True), row
        assert row["output"] == ("float" if last else "bitpacked"), row
    assert "host_time" not in report


def test_cli_lce_check_fails_when_a_layer_stays_float(monkeypatch, capsys):
    import tfpose.export.lce as lce

    real = lce.lce_report
    monkeypatch.setattr(lce, "lce_report", lambda model, flatbuffer=None: {
        **real(model, flatbuffer), "lce_bconv2d": 50,
        "not_binarised": [{"layer": "x", "reasons": ["pretend"]}]})
    code = main(["lce-check", "hourglass_bottleneck_binary", "--input-size", "64x64",
                 "--no-timing"])
    out, err = capsys.readouterr()
    assert code == 1 and "did not become LceBconv2d" in err
    assert "not binarised: x: pretend" in out
    lines = out.splitlines()  # the readable table: one line per binary conv, then the totals
    start = lines.index("binary convs, in op order:") + 2
    assert [line.split() for line in lines[start : start + 3]] == [
        ["stem_b0_conv1_bconv", "fused", "bitpacked", "64", "128", "LceBconv2d"],
        ["stem_b0_conv2_bconv", "fused", "bitpacked", "128", "128", "LceBconv2d"],
        ["stem_b0_conv3_bconv", "-", "float", "128", "256", "ADD"]]
    assert ("totals: 34 of 34 BN fused, 34 of 51 outputs bitpacked, 0 convs with input channels "
            "not a multiple of 32, 0 with output channels not a multiple of 8") in lines
    assert "host time" not in out


# BiHRNet-W18 is W32's layers at other widths: tests/export/test_parity.py converts it (at
# reduced depth, with its own widths); a full-size conversion costs about 2 minutes of CI.
FULL_SIZE_CONVERTED = ["bihrnet_w32", "hourglass_hpm", "hourglass_bottleneck_binary"]


@pytest.mark.slow
@pytest.mark.parametrize("name", FULL_SIZE_CONVERTED)
def test_full_size_binary_models_convert_completely(name, tmp_path):
    """At the documented input size: every binary conv becomes LceBconv2d, and (hourglasses; the
    BiHRNet wiring is reloaded at reduced depth in test_bihrnet, a full-size reload costs
    minutes) the model saves and reloads."""
    model = create(name)
    report = lce_report(model)
    assert report["lce_bconv2d"] == report["quant_conv2d"] > 0, report
    assert report["not_binarised"] == []
    assert model_summary(model)["binary_share"] >= 0.9
    if name.startswith("bihrnet"):
        return
    path = tmp_path / f"{name}.keras"
    model.save(path)
    x = np.random.default_rng(0).uniform(0, 255, (1, *MODELS[name].input_size, 3))
    np.testing.assert_allclose(tf.keras.models.load_model(path)(x).numpy(), model(x).numpy(),
                               rtol=1e-4, atol=1e-3)
    if name == "hourglass_hpm":  # the paper's binary model is about 1.3 MB
        assert report["flatbuffer_bytes"] < 1.4e6


@pytest.mark.slow
def test_float_teacher_saves_and_reloads(tmp_path):
    model = create("hrnet_w18")
    model.save(tmp_path / "hrnet.keras")
    x = np.random.default_rng(0).uniform(0, 255, (1, 256, 192, 3)).astype(np.float32)
    reloaded = tf.keras.models.load_model(tmp_path / "hrnet.keras")
    np.testing.assert_allclose(reloaded(x).numpy(), model(x).numpy(), rtol=1e-4, atol=1e-4)
