"""parse_id: ids typed or posted by users are positive 64-bit integers or None."""

import pytest

from guanxi.core.ids import MAX_ID, parse_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, 7),
        ("42", 42),
        (" 42 ", 42),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("0", None),
        ("-3", None),
        ("4.5", None),
        ("abc", None),
        ("", None),
        (True, None),
        (None, None),
        ("²", None),  # str.isdigit() is true for superscripts; int() refuses them
        ("1²", None),
        ("٣", None),  # non-ASCII digits are not ids either
    ],
)
def test_parse_id(value, expected):
    assert parse_id(value) == expected
