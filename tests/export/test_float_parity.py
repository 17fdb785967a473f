"""Converted float models of every family against Keras, within the stated tolerances
(tfpose.export.parity.TOLERANCES), after a short training so the heatmaps have peaks to agree
on: fp32 and fp16 for every family; int8 (calibrated on training crops, checked on validation
crops) for FasterPose.

int8 post-training quantisation of the other families at this size and training misses the
int8 tolerance, and the conversion job says so (ParityError) instead of shipping the file.
Measured (20 epochs on 64 crops; LitePose 20 x 3 steps on 48 images): joints with a clear
peak agreeing within one heatmap pixel, HRNet 0.57, SimpleBaseline 0.84, LitePose-XS 0.60 at
stride 2 and 0.89 at stride 4, against FasterPose's 0.998. Quantisation-aware training is the
known remedy; it is not part of tfpose yet.
"""

import numpy as np
import pytest
import tensorflow as tf

from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.codecs.model_info import bottomup_info, topdown_info
from tfpose.data.bottomup import bottomup_dataset
from tfpose.data.bundled import synthetic_dataset
from tfpose.data.coco import read_coco_persons
from tfpose.data.image_records import read_coco_images
from tfpose.data.topdown import topdown_dataset
from tfpose.engine.bottomup_trainer import BottomUpTrainer
from tfpose.export.convert import convert
from tfpose.export.parity import TOLERANCES, judge, output_parity
from tfpose.keypoints import COCO_17
from tfpose.losses.heatmap import KeypointMSE, RegressiveCrossEntropy
from tfpose.models import create
from tfpose.runtime.interpreter import LCEInterpreterRunner

TOPDOWN = {  # options, output stride, output, quantisations checked
    "hrnet_w32": ({"width": 8, "modules": (1, 1, 1), "branch_blocks": 1, "stage1_blocks": 1},
                  4, "gaussian", ("fp32", "fp16")),
    "simplebaseline_r50": ({}, 4, "gaussian", ("fp32", "fp16")),
    "fasterpose": ({"head_width": 32}, 8, "sigmoid", ("fp32", "fp16", "int8")),
}
SIZE = (64, 64)


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TFPOSE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        return {split: synthetic_dataset(split, num_images=32, progress=False)
                for split in ("train", "val")}


def crops(splits, split, codec, n=64):
    batch = next(iter(topdown_dataset(read_coco_persons(*splits[split]), codec, batch_size=n)))
    return batch["image"].numpy(), batch["heatmaps"].numpy(), batch["target_weight"].numpy()


def check(model, info, train_inputs, val_inputs, quantizations):
    reference = model.predict(val_inputs, verbose=0)
    for quantization in quantizations:
        conversion = convert(model, info, quantization=quantization,
                             representative=lambda: iter(train_inputs))
        parity = output_parity(reference, LCEInterpreterRunner(conversion.flatbuffer)(
            val_inputs), info)
        assert judge(parity, TOLERANCES[quantization]) == [], (quantization, parity)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TOPDOWN))
def test_top_down_family(name, splits):
    options, stride, output, quantizations = TOPDOWN[name]
    codec = HeatmapCodec(input_size=SIZE, heatmap_size=(SIZE[0] // stride, SIZE[1] // stride),
                         sigma=1.5, output=output)
    tf.keras.utils.set_random_seed(0)
    model = create(name, input_size=SIZE, num_keypoints=17, **options)
    loss = RegressiveCrossEntropy() if output == "sigmoid" else KeypointMSE()
    model.compile(tf.keras.optimizers.Adam(2e-3), loss=loss)
    images, heatmaps, weights = crops(splits, "train", codec)
    model.fit(images, heatmaps, sample_weight=weights, batch_size=8, epochs=10, verbose=0)
    check(model, topdown_info(codec, COCO_17, name), images, crops(splits, "val", codec)[0],
          quantizations)


@pytest.mark.slow
def test_litepose(splits):
    codec = BottomUpCodec(input_size=(128, 128))
    tf.keras.utils.set_random_seed(0)
    model = create("litepose_xs", input_size=(128, 128), stage_blocks=(1, 1, 1, 1))
    trainer = BottomUpTrainer(model)
    trainer.compile(tf.keras.optimizers.Adam(4e-3))
    train = bottomup_dataset(read_coco_images(*splits["train"]), codec, batch_size=8)
    trainer.fit(train.repeat(), steps_per_epoch=3, epochs=6, verbose=0)
    inputs = {split: np.concatenate([b["image"].numpy() for b in bottomup_dataset(
        read_coco_images(*splits[split]), codec, batch_size=8)]) for split in splits}
    check(model, bottomup_info(codec, COCO_17, "litepose_xs"), inputs["train"], inputs["val"],
          ("fp32", "fp16"))
