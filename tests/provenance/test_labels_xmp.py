"""XMP in PNG, JPEG and WebP containers (provenance/_labels_xmp.py), read back with exiftool."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from hallmark.errors import InputError, ProvenanceError
from hallmark.provenance.labels._xmp import (
    XmpProperty,
    build_packet,
    embed_xmp,
    extract_xmp,
    find_properties,
    has_c2pa_manifest,
    sniff_format,
)

NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
PROPS = [
    XmpProperty(
        NS,
        "TC260",
        "AIGC",
        json.dumps({"Label": "1", "ContentProducer": 'Acme & "Co" <x>', "ProduceID": "r-1"}),
    ),
    XmpProperty(
        "http://iptc.org/std/Iptc4xmpExt/2008-02-29/", "Iptc4xmpExt", "DigitalSourceType", "http://x/trained"
    ),
]


def _image(mode: str = "RGB", size: tuple[int, int] = (96, 64)) -> Image.Image:
    rng = np.random.default_rng(7)
    channels = len(mode)
    arr = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(arr, mode)


def _encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


def _exiftool(data: bytes, tmp_path, ext: str) -> dict[str, object]:
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        pytest.skip("exiftool not installed (scripts/install-system-deps.sh installs it)")
    path = tmp_path / f"x.{ext}"
    path.write_bytes(data)
    out = subprocess.run(
        [exiftool, "-j", "-G1", "-validate", "-warning", "-error", "-XMP:all", str(path)],
        capture_output=True,
        check=True,
        text=True,
    )
    return json.loads(out.stdout)[0]


CASES = [
    ("png", "PNG", {}, "RGB"),
    ("png", "PNG", {}, "RGBA"),
    ("jpeg", "JPEG", {"quality": 90}, "RGB"),
    ("webp", "WEBP", {"quality": 80}, "RGB"),  # simple lossy (VP8)
    ("webp", "WEBP", {"lossless": True}, "RGBA"),  # simple lossless with alpha (VP8L)
    ("webp", "WEBP", {"quality": 80, "exif": b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00"}, "RGB"),  # VP8X
]


@pytest.mark.parametrize(("fmt", "pil", "kw", "mode"), CASES)
def test_embed_is_read_by_exiftool_and_pixels_are_untouched(fmt, pil, kw, mode, tmp_path) -> None:
    data = _encode(_image(mode), pil, **kw)
    out = embed_xmp(data, PROPS, fmt=fmt)
    assert sniff_format(out) == fmt
    assert np.array_equal(_pixels(out), _pixels(data))
    tags = _exiftool(out, tmp_path, fmt)
    assert tags["XMP-TC260:Aigc"] == PROPS[0].value
    assert tags["XMP-iptcExt:DigitalSourceType"] == "http://x/trained"
    assert tags.get("ExifTool:Validate") == "OK", tags
    assert "ExifTool:Warning" not in tags and "ExifTool:Error" not in tags


@pytest.mark.parametrize(("fmt", "pil", "kw", "mode"), CASES)
def test_our_reader_finds_what_we_wrote(fmt, pil, kw, mode) -> None:
    out = embed_xmp(_encode(_image(mode), pil, **kw), PROPS, fmt=fmt)
    found_fmt, packet = extract_xmp(out)
    assert found_fmt == fmt and packet is not None
    assert find_properties(packet, "AIGC") == [(NS, PROPS[0].value)]


def test_webp_alpha_flag_is_kept_when_converting_to_extended() -> None:
    out = embed_xmp(_encode(_image("RGBA"), "WEBP", lossless=True), PROPS, fmt="webp")
    assert out[12:16] == b"VP8X" and out[20] & 0x10 and out[20] & 0x04
    assert Image.open(io.BytesIO(out)).mode == "RGBA"


@pytest.mark.parametrize(("fmt", "pil"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")])
def test_existing_xmp_is_merged_and_our_properties_replaced(fmt, pil, tmp_path) -> None:
    dc = "http://purl.org/dc/elements/1.1/"
    old = build_packet([XmpProperty(dc, "dc", "format", "image/x"), XmpProperty(NS, "TC260", "AIGC", "old")])
    kw: dict[str, object] = {"xmp": old.encode()}
    if pil == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", old)
        kw = {"pnginfo": info}
    data = _encode(_image(), pil, **kw)
    once = embed_xmp(data, PROPS, fmt=fmt)
    twice = embed_xmp(once, PROPS, fmt=fmt)
    _, packet = extract_xmp(twice)
    assert packet is not None
    assert find_properties(packet, "AIGC") == [(NS, PROPS[0].value)]
    assert find_properties(packet, "format") == [(dc, "image/x")]
    assert packet.count("<x:xmpmeta") == 1
    tags = _exiftool(twice, tmp_path, fmt)
    assert tags["XMP-dc:Format"] == "image/x" and tags["XMP-TC260:Aigc"] == PROPS[0].value


def test_existing_element_form_property_from_another_tool_is_replaced() -> None:
    other = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:T="{NS}" xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
        "<T:AIGC>stale</T:AIGC><xmp:CreatorTool>Paint</xmp:CreatorTool></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", other, zip=True)  # compressed iTXt, as some tools write
    out = embed_xmp(_encode(_image(), "PNG", pnginfo=info), PROPS, fmt="png")
    _, packet = extract_xmp(out)
    assert packet is not None
    assert find_properties(packet, "AIGC") == [(NS, PROPS[0].value)]
    assert find_properties(packet, "CreatorTool") == [("http://ns.adobe.com/xap/1.0/", "Paint")]


def test_unreadable_existing_packet_is_replaced() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta><broken")
    out = embed_xmp(_encode(_image(), "PNG", pnginfo=info), PROPS, fmt="png")
    _, packet = extract_xmp(out)
    assert packet is not None and find_properties(packet, "AIGC") == [(NS, PROPS[0].value)]


def test_jpeg_xmp_goes_after_exif() -> None:
    exif = Image.Exif()
    exif[0x0131] = "camera"
    data = _encode(_image(), "JPEG", exif=exif.tobytes())
    out = embed_xmp(data, PROPS, fmt="jpeg")
    assert out.index(b"Exif\x00\x00") < out.index(b"http://ns.adobe.com/xap/1.0/\x00")
    assert Image.open(io.BytesIO(out)).getexif()[0x0131] == "camera"


def test_xmp_found_by_scanning_other_formats() -> None:
    data = _encode(_image(), "TIFF") + build_packet(PROPS).encode()
    fmt, packet = extract_xmp(data)
    assert fmt is None and packet is not None and find_properties(packet, "AIGC")


def test_no_xmp() -> None:
    assert extract_xmp(_encode(_image(), "PNG")) == ("png", None)
    assert extract_xmp(b"garbage") == (None, None)


def test_unsupported_format_is_refused() -> None:
    with pytest.raises(InputError, match="cannot write XMP into 'gif'"):
        embed_xmp(b"GIF89a", PROPS, fmt="gif")


def test_bytes_that_are_not_the_named_format_are_refused() -> None:
    with pytest.raises(InputError, match="the bytes are not jpeg \\(they look like png\\)"):
        embed_xmp(_encode(_image(), "PNG"), PROPS, fmt="jpeg")


@pytest.mark.parametrize(("fmt", "pil"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")])
def test_truncated_file_is_refused(fmt, pil) -> None:
    data = _encode(_image(), pil)
    cut = data[:40] if fmt != "webp" else data[:12] + b"VP8 " + b"\xff\x00\x00\x00"
    with pytest.raises(InputError, match=f"malformed {fmt} file"):
        embed_xmp(cut, PROPS, fmt=fmt)


def test_jpeg_packet_too_large_for_one_segment() -> None:
    big = build_packet([XmpProperty("http://example.com/ns/", "ex", "blob", "x" * 65_100)])
    data = _encode(_image(), "JPEG", xmp=big.encode())
    with pytest.raises(ProvenanceError, match="does not fit in one JPEG APP1 segment"):
        embed_xmp(data, PROPS, fmt="jpeg")


def test_one_prefix_for_two_namespaces_is_refused() -> None:
    with pytest.raises(ProvenanceError, match="XMP prefix 'T' is bound to two namespaces"):
        build_packet([XmpProperty("http://a/", "T", "x", "1"), XmpProperty("http://b/", "T", "y", "2")])


@pytest.mark.parametrize(
    ("fmt", "pil", "forge"),
    [
        ("png", "PNG", lambda d: d[:33] + _png_chunk(b"caBX", b"jumb") + d[33:]),
        ("jpeg", "JPEG", lambda d: d[:2] + b"\xff\xeb\x00\x0aJP\x00\x01c2pa" + d[2:]),
        ("webp", "WEBP", lambda d: _webp_add(d, b"C2PA", b"jumb")),
    ],
)
def test_signed_file_is_detected(fmt, pil, forge) -> None:
    data = _encode(_image(), pil)
    assert not has_c2pa_manifest(data, fmt)
    forged = forge(data)
    assert has_c2pa_manifest(forged, fmt)
    with pytest.raises(
        ProvenanceError, match="already carries a C2PA manifest; labels must be written before signing"
    ):
        embed_xmp(forged, PROPS, fmt=fmt)


def _png_chunk(ctype: bytes, payload: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", zlib.crc32(ctype + payload))


def _webp_add(data: bytes, fourcc: bytes, payload: bytes) -> bytes:
    import struct

    body = data[12:] + fourcc + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body
