"""The fast paths of issue "Speed" give exactly what the plain code beside them gives (no timing here)."""
from __future__ import annotations

import math
import re
from dataclasses import asdict, fields
from types import SimpleNamespace

import pytest

from adapters.providers.response_fields import ResponseFormatError, coordinate
from eval.evaluate import MatchRow
from gt.reader import MAX_COORDINATE, parse_line
from reports.csv_files import write_csv, write_csv_rows
from reports.eval_tables import match_cells


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


# --- writing -------------------------------------------------------------------------------------

def test_match_cells_write_the_bytes_of_asdict_and_dictwriter(tmp_path):
    texts = ["=HYPERLINK(\"x\")", "+1.5", "-3", "@a", "\tx", "\rx", "", "보통", None, "a,b", 'q"uote', "line\nbreak"]
    rows = []
    for k, text in enumerate(texts):
        rows.append(MatchRow("-stem" if k % 5 == 0 else "img", "match", k, k, 0.1 * k, text, texts[-1 - k],
                             k % 2 == 0, k, k + 1, None if k % 3 else 0.5))
        rows.append(MatchRow("img", "missed", gt_line=k, gt_text=text))
    evaluation = SimpleNamespace(images=[SimpleNamespace(rows=rows)])
    columns = [f.name for f in fields(MatchRow)]
    write_csv(tmp_path / "plain.csv", (asdict(r) for r in rows), columns)
    write_csv_rows(tmp_path / "fast.csv", match_cells(evaluation), columns)
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()
