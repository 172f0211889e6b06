"""The export file format: a header with format and version, then one record a line."""

from __future__ import annotations

import io

import pytest

from live import datafile
from live.authenticity import Feedback, Label, Lot, LotChoices
from live.backends.base import DataSet
from live.domain import Product


def test_a_file_reads_back_as_written() -> None:
    label = Label("ABCDEFGHJKMN", "01234567", "s1", "o1", 0, "p1", issued_at=1.5, scans=3)
    rated = Label(
        "ABCDEFGHJKMP",
        "76543210",
        "s1",
        "o1",
        1,
        "p1",
        option_id="x1",
        option_name="500 g",
        issued_at=1.5,
        scans=2,
        first_scan_at=2.25,
        devices=2,
        verified_at=3.0,
        feedback=Feedback(2, "thin", 4.0, "p1", "l1", "Zhang"),
    )
    data = DataSet(
        products=(Product("p1", "Honey", 1000, 5),),
        settings={"lang": "en"},
        lots=(Lot("l1", "p1", "Spring", date="2026-05-12", created_at=1.0),),
        lot_choices={"s1": LotChoices(defaults={"p1": "l1"}, orders={"o1": "l1"})},
        labels=(label, rated),
    )
    out = io.BytesIO()
    datafile.write(data, out, store="redis", now=1.0)
    first = out.getvalue().splitlines()[0]
    assert first.startswith(b'{"type":"header","format":"sunlit-live-export","version":2')
    assert datafile.read(out.getvalue().splitlines()) == data


def test_a_version_1_file_reads_with_no_authenticity_records() -> None:
    lines = [
        b'{"type":"header","format":"sunlit-live-export","version":1,"exported_at":0,'
        b'"store":"redis","counts":{"products":1}}',
        b'{"type":"product","product":{"id":"p1","name":"Honey","price":1000,"stock":5}}',
    ]
    data = datafile.read(lines)
    assert [p.id for p in data.products] == ["p1"]
    assert (data.lots, data.labels, data.lot_choices) == ((), (), {})


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
