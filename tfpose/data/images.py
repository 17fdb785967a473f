"""Reading images inside ``tf.data`` without letting one bad file end an epoch.

Each file's bytes are checked before decoding: empty files, unknown formats and truncated JPEG /
PNG files (no end marker near the end) are dropped with a warning that names the file. Damage
that only decoding reveals is dropped by ``ignore_errors`` at the end of the pipeline; TensorFlow
logs those at its C++ WARNING level.
"""

from __future__ import annotations

import sys

import tensorflow as tf

_TAIL = 1024  # JPEG / PNG end markers may be followed by some padding bytes


def _contains(data, pattern: bytes):
    """Whether the uint8 vector ``data`` contains the byte string ``pattern``."""
    n = len(pattern)
    found = tf.ones_like(data[: tf.maximum(tf.size(data) - n + 1, 0)], tf.bool)
    for i, byte in enumerate(pattern):
        found &= data[i : tf.size(data) - n + 1 + i] == byte
    return tf.reduce_any(found)


def image_bytes_look_complete(contents):
    """Cheap in-graph check of encoded image bytes (scalar bool)."""
    size = tf.strings.length(contents)
    start = tf.maximum(size - _TAIL, 0)
    tail = tf.io.decode_raw(tf.strings.substr(contents, start, size - start), tf.uint8)
    is_jpeg = tf.io.is_jpeg(contents)
    is_png = tf.strings.substr(contents, 0, 8) == b"\x89PNG\r\n\x1a\n"
    other = tf.strings.regex_full_match(tf.strings.substr(contents, 0, 3), "GIF|BM.")
    jpeg_ends = _contains(tail, b"\xff\xd9")  # EOI marker
    png_ends = _contains(tail, b"IEND")  # the last chunk's type
    return (size > 0) & ((is_jpeg & jpeg_ends) | (is_png & png_ends) | other)


def check_image_bytes(contents, name):
    """Whether ``contents`` look like a whole image; warns on stderr, naming ``name`` (the file,
    or where a prepared dataset stores it), when not."""
    ok = image_bytes_look_complete(contents)
    if not ok:  # autograph turns this into a graph-mode conditional
        tf.print("tfpose: skipping unreadable or truncated image", name, output_stream=sys.stderr)
    return ok


def read_image_checked(path):
    """``(contents, ok)`` for a file path (:func:`check_image_bytes`)."""
    contents = tf.io.read_file(path)
    return contents, check_image_bytes(contents, path)


def decode_rgb(contents):
    """Encoded bytes -> ``[H, W, 3]`` uint8 RGB (any of JPEG, PNG, GIF, BMP).

    JPEGs are decoded with libjpeg's accurate integer IDCT, as OpenCV and PIL decode them (the
    predictor, and the reference pipelines published weights were trained and scored with):
    TensorFlow's default fast IDCT differs from them by up to ~20 grey levels on two thirds of
    a photo's pixels.
    """
    image = tf.cond(
        tf.io.is_jpeg(contents),
        lambda: tf.io.decode_jpeg(contents, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(contents, channels=3, expand_animations=False))
    image.set_shape([None, None, 3])
    return image


def checked_image_rows(source, *, shuffle: bool, repeat: bool, seed: int,
                       deterministic: bool, rows: str = "person") -> tf.data.Dataset:
    """A source's rows with their image bytes, as ``(row, contents, ok, example_seed)``.

    The start every pipeline shares. ``source`` is either in-memory records (their
    ``columns()``: each row names its image file, read here) or a prepared split
    (:class:`tfpose.data.prepared.PreparedSplit`, whose ``rows``-kind rows carry their image's
    bytes). Rows are shuffled when asked, repeated when asked, given one stateless seed each
    (so a deterministic run is exact), and their bytes checked; rows whose image fails the
    checks are dropped here (:func:`read_image_checked` names them on stderr).

    Args:
      rows: which rows of a prepared split: ``"person"`` (top-down) or ``"image"`` (bottom-up).
    """
    autotune = tf.data.AUTOTUNE
    if hasattr(source, "columns"):  # records: shuffle the cheap rows before reading images
        ds = tf.data.Dataset.from_tensor_slices(source.columns())
        if shuffle:
            ds = ds.shuffle(min(len(source), 10_000), seed=seed, reshuffle_each_iteration=True)
    else:
        read = source.person_rows if rows == "person" else source.image_rows
        ds = read(shuffle=shuffle, seed=seed)
    if repeat:
        ds = ds.repeat()
    ds = tf.data.Dataset.zip((ds, tf.data.Dataset.random(seed=seed)))
    ds = ds.map(_read_row, num_parallel_calls=autotune, deterministic=deterministic)
    return ds.filter(lambda row, contents, ok, example_seed: ok)


def _read_row(row, example_seed):
    if "image_bytes" in row:  # a prepared split's row carries its image
        row = dict(row)
        contents = row.pop("image_bytes")
        return row, contents, check_image_bytes(contents, row["image_path"]), example_seed
    contents, ok = read_image_checked(row["image_path"])
    return row, contents, ok, example_seed
