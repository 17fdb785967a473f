"""benchmarks/kd_gradient_share.py on one random batch: every figure it prints is there and sane."""

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfpose.layers.binary import QuantPolicy
from tfpose.models import create

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "kd_gradient_share.py"
spec = importlib.util.spec_from_file_location("kd_gradient_share", SCRIPT)
kd = importlib.util.module_from_spec(spec)
sys.modules["kd_gradient_share"] = kd
spec.loader.exec_module(kd)


def test_shares_grow_with_the_kl_weight_and_every_temperature_has_a_slope():
    size, options = kd.INPUT_SIZE, {**kd.SMALL, "width": 8}
    teacher = create("hrnet_w32", input_size=size, num_keypoints=17, **options)
    student = create("bihrnet_w32", input_size=size, num_keypoints=17,
                     policy=QuantPolicy().stage_one(), **options)
    rng = np.random.default_rng(0)
    batch = {"image": tf.constant(rng.uniform(0, 255, (4, *size, 3)), tf.float32),
             "heatmaps": tf.constant(rng.uniform(0, 1, (4, *kd.HEATMAP_SIZE, 17)), tf.float32),
             "target_weight": tf.ones((4, 17))}
    rows = kd.measure(teacher, student, [batch])
    assert all(len(values) == 4 for values in rows.values())
    lines = kd.report(rows)
    assert lines[0] == "examples: 4"
    slopes = [line for line in lines if line.startswith("T=")]
    assert len(slopes) == len(kd.TEMPERATURES) and all(", slope " in s for s in slopes[1:])
    shares = [float(re.search(r"gradient share ([\d.]+)", line)[1]) for line in lines
              if line.startswith("kl_weight")]
    assert len(shares) == len(kd.KL_WEIGHTS) and 0 < shares[0] < shares[-1] < 1
    assert shares == sorted(shares)
