r"""Convert a trained model to a TensorFlow Lite flatbuffer for phones (same as `tfpose convert`).

    python convert/to_lce.py            # the main job's BiHRNet -> runs/bihrnet/model.tflite
    python convert/to_lce.py runs/litepose/model.keras --quantization int8
    python convert/to_lce.py runs/fasterpose/model.keras --with-decoder --out fasterpose.tflite
    python convert/to_lce.py bihrnet_w32 --input-size 256x192 --no-parity   # untrained, for size

Binary models convert through Larq Compute Engine (target arm: LceBconv2d ops, the optimised
ARM64 kernels); float models through the TFLite converter. Next to the .tflite goes a json
report (ops, size, binary share, inputs and outputs with quantisation parameters, parity with the
Keras model). `--help` lists every option.
"""

import sys

import tfpose  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
from tfpose.cli import main

if __name__ == "__main__":
    flags = sys.argv[1:]
    verbose = [flag for flag in flags if flag in ("-v", "--verbose")]  # a tfpose-level flag
    sys.exit(main([*verbose, "convert", *(flag for flag in flags if flag not in verbose)]))
