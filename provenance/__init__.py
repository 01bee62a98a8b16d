"""Mark and read marks: watermarks, C2PA, regulatory labels, keys, found-image verification."""

from provenance._types import WatermarkReading, WatermarkScheme, payload_for_record

__all__ = ["WatermarkReading", "WatermarkScheme", "payload_for_record"]
