"""The export file format: a header with format and version, then one record a line."""

from __future__ import annotations

import io

import pytest

from live import datafile
from live.backends.base import DataSet
from live.domain import Product


def test_a_file_reads_back_as_written() -> None:
    data = DataSet(products=(Product("p1", "Honey", 1000, 5),), settings={"lang": "en"})
    out = io.BytesIO()
    datafile.write(data, out, store="redis", now=1.0)
    first = out.getvalue().splitlines()[0]
    assert first.startswith(b'{"type":"header","format":"sunlit-live-export","version":1')
    assert datafile.read(out.getvalue().splitlines()) == data


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        ([], "no header"),
        (
            [
                b'{"type":"header","format":"other","version":1,"exported_at":0,"store":"x",'
                b'"counts":{}}'
            ],
            "other",
        ),
        (
            [
                b'{"type":"header","format":"sunlit-live-export","version":9,"exported_at":0,'
                b'"store":"x","counts":{}}'
            ],
            "version 9",
        ),
        (
            [
                b'{"type":"header","format":"sunlit-live-export","version":1,"exported_at":0,'
                b'"store":"x","counts":{}}',
                b'{"type":"product","product":{"id":"p"}}',
            ],
            "line 2",
        ),
    ],
)
def test_a_file_this_version_cannot_read_is_refused_naming_why(
    lines: list[bytes], says: str
) -> None:
    with pytest.raises(datafile.DataFileError, match=says):
        datafile.read(lines)
