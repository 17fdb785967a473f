import argparse

import pytest

from tfpose.argtypes import parse_size, positive_int


def test_sizes_are_height_by_width():
    assert parse_size("256X192") == (256, 192)
    for bad in ("256", "axb", "0x4", "-1x4"):
        with pytest.raises(argparse.ArgumentTypeError, match="256x192|positive"):
            parse_size(bad)


def test_positive_integers():
    assert positive_int("3") == 3
    for bad in ("0", "-2", "two", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError, match=f"positive integer, got '{bad}'"):
            positive_int(bad)
