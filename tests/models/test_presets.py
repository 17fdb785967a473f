"""Model presets (tfpose.models.presets): one owner of each model's defaults, read by the zoo,
the training scripts, the model information of zoo models and ``tfpose convert``."""

import dataclasses
import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tensorflow as tf

from tfpose.codecs.model_info import zoo_info
from tfpose.config import AugmentConfig
from tfpose.data.bottomup import BottomUpAugmentConfig
from tfpose.engine import flags
from tfpose.export.job import load_source
from tfpose.models.presets import FAMILIES, ModelPreset, zoo_preset, zoo_presets
from tfpose.models.zoo import MODELS, create

REPO = Path(__file__).resolve().parents[2]
PRESETS_MODULES = ["tfpose.models.presets",
                   *(f"tfpose.models.{family}_presets" for family in FAMILIES)]
SCRIPTS = {"train_bihrnet": "bihrnet", "train_fasterpose": "fasterpose",
           "train_hourglass_hpm": "hourglass", "train_litepose": "litepose"}


def family(name: str):
    return importlib.import_module(f"tfpose.models.{name}_presets")


def test_every_zoo_model_has_one_preset():
    assert list(zoo_presets()) == list(MODELS)  # the families, in the zoo's order
    for name in MODELS:
        assert MODELS[name].preset is zoo_preset(name)
    with pytest.raises(ValueError, match="unknown model 'hrnet_w99'"):
        zoo_preset("hrnet_w99")


@pytest.mark.parametrize("name", list(MODELS))
def test_zoo_defaults_are_the_presets(name):
    found, preset = MODELS[name], zoo_preset(name)
    assert (found.input_size, found.output, found.sigma) == (preset.input_size, preset.output,
                                                             preset.sigma)


def test_the_values_the_zoo_documents():
    """The values the zoo and zoo_info had before the presets owned them."""
    facts = {name: (p.input_size, p.output, p.sigma, p.strides)
             for name, p in zoo_presets().items()}
    for name in ("hrnet_w18", "hrnet_w32", "hrnet_w48", "bihrnet_w18", "bihrnet_w32",
                 "simplebaseline_r50", "simplebaseline_r101", "simplebaseline_r152"):
        assert facts[name] == ((256, 192), "gaussian", 2.0, (4,))
    for name in ("hourglass_hpm", "hourglass_bottleneck_binary"):
        assert facts[name] == ((256, 256), "sigmoid", 1.0, (4,))
    assert facts["fasterpose"] == ((256, 192), "sigmoid", 1.0, (8,))
    for variant, size in (("xs", 256), ("s", 448), ("m", 448), ("l", 512)):
        assert facts[f"litepose_{variant}"] == ((size, size), "bottomup", 2.0, (4, 2))


def test_zoo_presets_are_the_training_scripts_paper_configurations():
    assert zoo_preset("bihrnet_w32") is family("bihrnet").PRESETS["paper"]
    assert zoo_preset("fasterpose") is family("fasterpose").PRESETS["paper"]
    assert zoo_preset("hourglass_hpm") is family("hourglass").PRESETS["paper"]
    for variant in ("xs", "s", "m", "l"):
        assert zoo_preset(f"litepose_{variant}") is family("litepose").PRESETS[variant]


@pytest.mark.parametrize("script, family_name", SCRIPTS.items())
def test_training_scripts_import_their_model_presets(script, family_name):
    spec = importlib.util.spec_from_file_location(script, REPO / "training" / f"{script}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.PRESETS is family(family_name).PRESETS
    assert "ModelPreset(" not in (REPO / "training" / f"{script}.py").read_text()
    for preset in module.PRESETS.values():  # every training preset has training defaults
        assert preset.epochs and preset.batch_size and preset.learning_rate


@pytest.mark.parametrize("family_name", FAMILIES)
def test_every_presets_augmentation_is_a_config_of_its_pipeline(family_name):
    """``augment`` is plain data: each is checked here by the config class it will build."""
    for name, preset in {**family(family_name).PRESETS,
                         **family(family_name).ZOO_PRESETS}.items():
        config = BottomUpAugmentConfig if preset.output == "bottomup" else AugmentConfig
        try:
            config(**preset.augment)
        except (TypeError, ValueError) as e:  # an unknown field, or a value out of range
            pytest.fail(f"{family_name} preset {name}: augment {preset.augment}: {e}")


def test_flags_use_the_presets_dataclass():
    assert flags.ModelPreset is ModelPreset
    with pytest.raises(ValueError, match="output must be one of"):
        ModelPreset(input_size=(64, 64), sigma=1.0, output="softmax")
    assert ModelPreset(input_size=(64, 64), sigma=1.0).strides == (4,)


@pytest.mark.parametrize("family_name, size, zoo_name", [
    ("bihrnet", "small", "bihrnet_w32"), ("fasterpose", "small", "fasterpose"),
    ("hourglass", "small", "hourglass_hpm"), ("litepose", "small", "litepose_xs")])
def test_small_presets_strides_are_the_built_models(family_name, size, zoo_name):
    preset = family(family_name).PRESETS[size]
    model = create(zoo_name, input_size=preset.input_size, **preset.options)
    height = preset.input_size[0]
    assert tuple(height // int(o.shape[1]) for o in model.outputs) == preset.strides


def tiny(input_size, outputs):
    """A model with a zoo model's shapes: ``outputs`` are (stride, channels)."""
    inputs = tf.keras.Input((*input_size, 3))
    heads = [tf.keras.layers.Conv2D(c, 1)(tf.keras.layers.AveragePooling2D(s)(inputs))
             for s, c in outputs]
    return tf.keras.Model(inputs, heads if len(heads) > 1 else heads[0])


@pytest.mark.parametrize("name, outputs, kind, sigma, output", [
    ("hrnet_w32", [(4, 17)], "topdown", 2.0, "gaussian"),
    ("fasterpose", [(8, 17)], "topdown", 1.0, "sigmoid"),
    ("hourglass_hpm", [(4, 16)], "topdown", 1.0, "sigmoid"),
    ("litepose_xs", [(4, 34), (2, 17)], "bottomup", 2.0, None)])
def test_zoo_info_takes_output_and_sigma_from_the_preset(name, outputs, kind, sigma, output):
    info = zoo_info(tiny((64, 64), outputs), name)
    assert info.kind == kind and info.codec["sigma"] == sigma
    if output:
        assert info.codec["output"] == output and info.codec["heatmap_size"] == [
            64 // outputs[0][0]] * 2
    else:
        assert info.codec["strides"] == [4, 2]


def test_zoo_info_and_convert_follow_a_changed_preset(monkeypatch):
    """No rule of thumb (sigma 1 for sigmoid outputs...) is left beside the presets."""
    changed = dataclasses.replace(zoo_preset("fasterpose"), sigma=0.75)
    monkeypatch.setitem(zoo_presets(), "fasterpose", changed)
    assert zoo_info(tiny((64, 64), [(8, 17)]), "fasterpose").codec["sigma"] == 0.75
    source = load_source("fasterpose", input_size=(64, 64))
    codec = source.info.heatmap_codec()
    assert (codec.output, codec.sigma, codec.heatmap_size) == ("sigmoid", 0.75, (8, 8))
    assert source.info.model == "fasterpose"


def test_presets_modules_import_neither_tensorflow_nor_the_models():
    """Plain data: importable below the models (tfpose/__init__.py, which imports TensorFlow
    on purpose, is skipped here)."""
    code = textwrap.dedent(f"""
        import importlib, importlib.util, json, sys, types
        package = types.ModuleType("tfpose")
        package.__path__ = list(importlib.util.find_spec("tfpose").submodule_search_locations)
        sys.modules["tfpose"] = package
        for name in {PRESETS_MODULES!r}:
            importlib.import_module(name)
        from tfpose.models.presets import zoo_presets
        assert len(zoo_presets()) == {len(MODELS)}
        heavy = ("tensorflow", "tf_keras", "keras", "larq", "numpy")
        print(json.dumps(sorted(
            name for name in sys.modules
            if name.split(".")[0] in heavy
            or name.startswith("tfpose.") and name not in {PRESETS_MODULES!r}
            and name != "tfpose.models")))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_model_info_reads_the_presets_without_the_zoo():
    code = ("import json, sys, tfpose.codecs.model_info\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('tfpose.models'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert "tfpose.models.presets" in loaded and "tfpose.models.zoo" not in loaded
