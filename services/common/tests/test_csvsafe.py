"""CSV cells a spreadsheet could read as formulas get a leading apostrophe; other text is kept."""

import pytest
from svccommon.csvsafe import safe_cell


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\nx", "\0x", "\0=1+1", "  =1+1", " \t@A1", "\x0b-2"],
)
def test_formula_cells_are_quoted(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["account.updated", "gpt-4o", "a=b", " plain", "x-1", "'=quoted"])
def test_other_text_is_kept(value):
    assert safe_cell(value) == value


def test_none_is_an_empty_cell():
    assert safe_cell(None) == ""
