"""The fast paths of reading (gt lines, coordinates) give exactly what the plain checks give."""
from __future__ import annotations

import math
import re

import pytest

from adapters.providers.response_fields import ResponseFormatError, coordinate
from gt.reader import MAX_COORDINATE, parse_line


# --- reading -------------------------------------------------------------------------------------

def _checked_parse(line: str):
    """parse_line without its fast path: the checks alone."""
    from gt import reader

    saved = reader._EIGHT_NUMBERS
    reader._EIGHT_NUMBERS = re.compile("(?!)")  # a pattern that never matches
    try:
        return reader.parse_line(line)
    except ValueError as exc:
        return f"ValueError: {exc}"
    finally:
        reader._EIGHT_NUMBERS = saved


@pytest.mark.parametrize("line", [
    "0,0,10,0,10,5,0,5,1,000원", " 1.5, 2 ,-3.25,4, 5,6 ,7,8 ,  서울역  ", "+1,.5,1.,-0,0,0,0,0,x",
    "999999999.9,0,1,0,1,1,0,1,가", "1000000000,0,1,0,1,1,0,1,가", "1000000001,0,1,0,1,1,0,1,가",
    "\u00a01\u3000,2,3,4,5,6,7,8,nbsp", "١٢,2,3,4,5,6,7,8,arabic digits", "1e3,0,1,0,1,1,0,1,exp", "nan,0,1,0,1,1,0,1,x",
    "1,2,3,4,5,6,7,8,", "1,2,3,4,5,6,7,8", "1,2,3", "1 2,3,4,5,6,7,8,9,x", "--1,0,1,0,1,1,0,1,x", ".,0,1,0,1,1,0,1,x",
])
def test_parse_line_fast_path_equals_the_checks(line):
    try:
        fast = parse_line(line)
    except ValueError as exc:
        fast = f"ValueError: {exc}"
    assert fast == _checked_parse(line)


@pytest.mark.parametrize("value", [0, -3, 2.5, MAX_COORDINATE, -MAX_COORDINATE, MAX_COORDINATE + 1, 10 ** 12,
                                   float("nan"), float("inf"), True, "1", None])
def test_coordinate_fast_path_keeps_every_check(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or abs(value) > MAX_COORDINATE:
        with pytest.raises(ResponseFormatError):
            coordinate(value, "x")
    else:
        assert coordinate(value, "x") == float(value) and type(coordinate(value, "x")) is float
