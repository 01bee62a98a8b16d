"""Invisible watermarks: the scheme protocol, hallmark's schemes, their registry and the
third-party marks that verify reads."""

from ._binding import ContentBinding, bind_content, content_fingerprint
from ._registry import verify_schemes, watermark_scheme, watermark_schemes
from ._thirdparty import detect_third_party
from ._types import MarkGrid, WatermarkReading, WatermarkScheme, payload_for_record

__all__ = [
    "ContentBinding",
    "MarkGrid",
    "WatermarkReading",
    "WatermarkScheme",
    "bind_content",
    "content_fingerprint",
    "detect_third_party",
    "payload_for_record",
    "verify_schemes",
    "watermark_scheme",
    "watermark_schemes",
]
