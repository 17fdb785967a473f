"""tfpose.errors: the one line of a library's exception a user is shown."""

from tfpose.errors import DataError, first_line


def test_first_line_prefers_the_error_line_and_is_bounded():
    assert first_line(ValueError("note: while converting\nloc(x): error: op not supported\nmore")) \
        == "loc(x): error: op not supported"
    assert first_line(OSError("\n  file is truncated  \nat offset 12")) == "file is truncated"
    assert first_line(RuntimeError("")) == "RuntimeError"
    long = first_line(ValueError("x" * 400))
    assert len(long) == 300 and long.endswith("...")


def test_data_error_names_file_and_field():
    assert str(DataError("a.json", "missing", field="images")) == \
        "a.json: field 'images': missing"
