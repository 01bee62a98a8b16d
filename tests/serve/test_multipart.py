"""multipart/form-data parsed in memory."""

from __future__ import annotations

import pytest

from hallmark.pipeline.serve._errors import ApiError
from hallmark.pipeline.serve._multipart import MAX_PARTS, parse_multipart

TYPE = "multipart/form-data; boundary=XyZ"


def form(*parts: tuple[str, str | None, bytes]) -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        out += b"--XyZ\r\nContent-Disposition: " + disposition.encode() + b"\r\n\r\n" + data + b"\r\n"
    return out + b"--XyZ--\r\n"


def test_every_part_keeps_its_field_name_file_name_and_bytes() -> None:
    binary = bytes(range(256)) * 3 + b"\r\n--XyZ-not-a-boundary"
    parts = parse_multipart(form(("file", "a.png", binary), ("note", None, b"hi")), TYPE)
    assert [(p.field, p.filename, p.data) for p in parts] == [("file", "a.png", binary), ("note", "", b"hi")]


def test_a_form_without_a_boundary_or_with_too_many_parts_is_refused() -> None:
    with pytest.raises(ApiError, match="no boundary"):
        parse_multipart(form(("file", "a", b"x")), "multipart/form-data")
    with pytest.raises(ApiError, match=f"more than {MAX_PARTS} parts"):
        parse_multipart(form(*[("file", "a", b"x")] * (MAX_PARTS + 1)), TYPE)


def test_a_malformed_body_is_a_400() -> None:
    with pytest.raises(ApiError, match="malformed") as refused:
        parse_multipart(b"--XyZ\r\nno header end\r\n--nope", TYPE)
    assert refused.value.status == 400
