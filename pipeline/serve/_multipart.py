"""multipart/form-data parsed in memory: the uploads of one request, never written to disk.

The body has already been read whole under the upload limit (``_limits.read_body``), so holding
its parts in memory costs no more than the body itself.  Starlette's own form parser would spool
large files to temporary files; an uploaded image is not stored unless the operator says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import ApiError

MAX_PARTS = 100


@dataclass(frozen=True)
class Upload:
    """One part of a form: its field name, the file name the client gave (display only: never
    used to decide what the content is, never a path) and its bytes."""

    field: str
    filename: str
    data: bytes


def parse_multipart(body: bytes, content_type: str) -> list[Upload]:
    """Every part of a multipart/form-data ``body``; 400 ``ApiError`` for a malformed one."""
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise ApiError(400, "bad-request", "the multipart body has no boundary")
    parts: list[Upload] = []
    state: dict[str, bytes | bytearray] = {}

    def on_part_begin() -> None:
        if len(parts) >= MAX_PARTS:
            raise ApiError(400, "bad-request", f"more than {MAX_PARTS} parts in one request")
        state.clear()
        state["data"] = bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] = bytes(state.get("field", b"")) + data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] = bytes(state.get("value", b"")) + data[start:end]

    def on_header_end() -> None:
        if bytes(state.pop("field", b"")).lower() == b"content-disposition":
            state["disposition"] = bytes(state.get("value", b""))
        state.pop("value", None)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        buffer = state["data"]
        assert isinstance(buffer, bytearray)
        buffer += data[start:end]

    def on_part_end() -> None:
        _, params = parse_options_header(bytes(state.get("disposition", b"")))
        parts.append(
            Upload(
                field=params.get(b"name", b"").decode("utf-8", "replace"),
                filename=params.get(b"filename", b"").decode("utf-8", "replace"),
                data=bytes(state["data"]),
            )
        )

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except FormParserError as e:
        raise ApiError(400, "bad-request", f"the multipart body is malformed: {e}") from e
    return parts
