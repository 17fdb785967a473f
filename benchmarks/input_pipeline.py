"""Top-down input pipeline throughput (images/s), training mode with full augmentation.

    python benchmarks/input_pipeline.py [--ann FILE --images DIR] [--threads 1 2] [--batches 20]

Without --ann it reads the bundled synthetic figures (256x256 images); ../shared/data's COCO
subset is a realistic case (full-size JPEGs): pass its annotation file and image folder.
Figures are host-CPU figures of this machine, printed with the thread count used.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import tensorflow as tf

import tfpose  # noqa: F401  (before TensorFlow)
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.data.bundled import synthetic_dataset
from tfpose.data.coco import read_coco_persons
from tfpose.data.topdown import topdown_dataset


def measure(records, codec, threads: int, batches: int, batch_size: int) -> float:
    ds = topdown_dataset(records, codec, batch_size=batch_size, train=True, repeat=True)
    options = tf.data.Options()
    options.threading.private_threadpool_size = threads
    ds = ds.with_options(options)
    iterator = iter(ds)
    for _ in range(3):  # warm-up: graph tracing, file cache
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ann")
    parser.add_argument("--images")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.ann:
        ann, images, source = args.ann, args.images, args.ann
    else:
        ann, images = synthetic_dataset("train", num_images=256)
        source = "bundled synthetic, 256x256"
    records = read_coco_persons(ann, images)
    codec = HeatmapCodec(input_size=(256, 192), heatmap_size=(64, 48))
    rows = [{"source": source, "threads": t, "images_per_s": round(
        measure(records, codec, t, args.batches, args.batch_size), 1),
        "where": f"{platform.machine()} host CPU, tf.data private threadpool of {t}"}
        for t in args.threads]
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for row in rows:
            print(f"{row['images_per_s']:8.1f} images/s  {row['where']}  ({row['source']})")


if __name__ == "__main__":
    main()
