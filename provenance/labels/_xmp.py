"""XMP packets in PNG, JPEG and WebP: build, insert into encoded bytes, find and parse.

Bytes are edited at the container level (a PNG chunk, a JPEG APP1 segment, a WebP RIFF chunk), so
the pixels are never decoded or re-encoded.  An XMP packet already in the file is kept: our
properties go into a ``rdf:Description`` of their own and replace an earlier copy of themselves.
Writing into a file that already carries a C2PA manifest is refused, because it would break the
manifest's hard binding.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from hallmark.errors import InputError, ProvenanceError

XMP_KEYWORD = b"XML:com.adobe.xmp"
JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X_NS = "adobe:ns:meta/"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_JPEG_SEGMENT = 65533
_XPACKET_ID = "W5M0MpCehiHzreSzNTczkc9d"


@dataclass(frozen=True)
class XmpProperty:
    """One simple XMP property: ``prefix:name`` in ``namespace`` with a text value."""

    namespace: str
    prefix: str
    name: str
    value: str


def sniff_format(data: bytes) -> str | None:
    """``png``, ``jpeg`` or ``webp`` from the magic bytes, else ``None``."""
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


# ----------------------------------------------------------------------------- XMP text


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )


def _description(props: list[XmpProperty]) -> str:
    ns_decl: dict[str, str] = {}
    for p in props:
        if ns_decl.get(p.prefix, p.namespace) != p.namespace:
            raise ProvenanceError(f"XMP prefix {p.prefix!r} is bound to two namespaces")
        ns_decl[p.prefix] = p.namespace
    decls = "".join(f' xmlns:{pre}="{_escape(ns)}"' for pre, ns in ns_decl.items())
    attrs = "".join(f'\n    {p.prefix}:{p.name}="{_escape(p.value)}"' for p in props)
    return f'  <rdf:Description rdf:about=""{decls}{attrs}/>\n'


def build_packet(props: list[XmpProperty], *, existing: str | None = None) -> str:
    """An XMP packet holding ``props``; when ``existing`` is given, its other content is kept."""
    ours = {(p.namespace, p.name) for p in props}
    body = ""
    if existing is not None:
        body = _other_descriptions(existing, ours)
    return (
        f'<?xpacket begin="\ufeff" id="{_XPACKET_ID}"?>\n'
        f'<x:xmpmeta xmlns:x="{X_NS}">\n'
        f' <rdf:RDF xmlns:rdf="{RDF_NS}">\n'
        f"{body}{_description(props)}"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )


def _parse(packet: str) -> ET.Element:
    # The xpacket processing instructions are outside the one root element ElementTree accepts.
    start = packet.find("<x:xmpmeta")
    if start < 0:
        start = packet.find("<rdf:RDF")
    end_tag = "</x:xmpmeta>" if packet.startswith("<x:xmpmeta", start) else "</rdf:RDF>"
    end = packet.find(end_tag)
    if start < 0 or end < 0:
        raise ValueError("no x:xmpmeta or rdf:RDF element")
    return ET.fromstring(packet[start : end + len(end_tag)])


def _other_descriptions(existing: str, ours: set[tuple[str, str]]) -> str:
    """The ``rdf:Description`` elements of ``existing``, minus our own properties, as XML text."""
    try:
        root = _parse(existing)
    except (ValueError, ET.ParseError, RecursionError):
        # An unreadable packet cannot be merged; it is replaced rather than kept half-broken.
        return ""
    prefixes: dict[str, str] = {}
    for m in re.finditer(r'xmlns:([A-Za-z_][\w.-]*)\s*=\s*"([^"]*)"', existing):
        prefixes.setdefault(m.group(2), m.group(1))
    rdf = root if root.tag == f"{{{RDF_NS}}}RDF" else root.find(f"{{{RDF_NS}}}RDF")
    if rdf is None:
        return ""
    out = []
    for desc in rdf.findall(f"{{{RDF_NS}}}Description"):
        for key in list(desc.attrib):
            if _split(key) in ours:
                del desc.attrib[key]
        for child in list(desc):
            if _split(child.tag) in ours:
                desc.remove(child)
        if len(desc) == 0 and all(k == f"{{{RDF_NS}}}about" for k in desc.attrib):
            continue
        out.append("  " + _serialize(desc, prefixes) + "\n")
    return "".join(out)


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _serialize(elem: ET.Element, prefixes: dict[str, str]) -> str:
    """Serialise keeping the original prefixes (ElementTree would invent ``ns0``)."""
    used: dict[str, str] = {RDF_NS: "rdf"}
    for e in elem.iter():
        for tag in (e.tag, *e.attrib):
            ns, _ = _split(tag)
            if ns and ns not in used:
                pre = prefixes.get(ns)
                if pre is None or pre in used.values():
                    pre = f"ns{len(used)}"
                used[ns] = pre

    def name(tag: str) -> str:
        ns, local = _split(tag)
        return f"{used[ns]}:{local}" if ns else local

    def render(e: ET.Element, decls: str = "") -> str:
        tag = name(e.tag)
        attrs = decls + "".join(f' {name(k)}="{_escape(v)}"' for k, v in e.attrib.items())
        inner = _escape_text(e.text or "") + "".join(render(c) + _escape_text(c.tail or "") for c in e)
        return f"<{tag}{attrs}>{inner}</{tag}>" if inner else f"<{tag}{attrs}/>"

    return render(elem, "".join(f' xmlns:{pre}="{_escape(ns)}"' for ns, pre in used.items() if ns != RDF_NS))


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def find_properties(packet: str, name: str) -> list[tuple[str, str]]:
    """Every simple property called ``name`` in any namespace: ``(namespace, value)`` pairs.

    Reads both the attribute form (``<rdf:Description ns:name="..."/>``) and the element form
    (``<ns:name>...</ns:name>``), so labels written by other tools are found too.
    """
    root = _parse(packet)
    found: list[tuple[str, str]] = []
    for desc in root.iter(f"{{{RDF_NS}}}Description"):
        for key, value in desc.attrib.items():
            ns, local = _split(key)
            if local == name and ns not in (RDF_NS, ""):
                found.append((ns, value))
        for child in desc:
            ns, local = _split(child.tag)
            if local == name:
                found.append((ns, (child.text or "").strip()))
    return found


# ----------------------------------------------------------------------------- containers


def _png_chunks(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """``(offset, type, payload)`` for each chunk; raises ``ValueError`` on a truncated file."""
    pos = len(_PNG_SIGNATURE)
    chunks = []
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("truncated PNG chunk")
        chunks.append((pos, ctype, data[pos + 8 : pos + 8 + length]))
        pos = end
        if ctype == b"IEND":
            break
    if not chunks or chunks[0][1] != b"IHDR":
        raise ValueError("PNG without IHDR")
    if chunks[-1][1] != b"IEND":
        raise ValueError("PNG without IEND (truncated)")
    return chunks


def _png_chunk(ctype: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", zlib.crc32(ctype + payload))


def _png_itxt_xmp(payload: bytes) -> str | None:
    keyword, sep, rest = payload.partition(b"\x00")
    if keyword != XMP_KEYWORD or not sep or len(rest) < 2:
        return None
    compressed, rest = rest[0], rest[2:]
    _lang, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    if compressed:
        text = zlib.decompress(text)
    return text.decode("utf-8")


def _png_xmp(data: bytes) -> str | None:
    for _, ctype, payload in _png_chunks(data):
        if ctype == b"iTXt":
            text = _png_itxt_xmp(payload)
            if text is not None:
                return text
    return None


def _png_embed(data: bytes, packet: str) -> bytes:
    chunks = _png_chunks(data)
    payload = XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + packet.encode("utf-8")
    out = [data[: len(_PNG_SIGNATURE)]]
    placed = False
    for i, (offset, ctype, body) in enumerate(chunks):
        end = chunks[i + 1][0] if i + 1 < len(chunks) else offset + 12 + len(body)
        if ctype == b"iTXt" and _png_itxt_xmp(body) is not None:
            continue  # replaced by the merged packet
        if not placed and ctype in (b"IDAT", b"IEND"):
            # XMP goes before the image data so that streaming readers see it first.
            out.append(_png_chunk(b"iTXt", payload))
            placed = True
        out.append(data[offset:end])
    return b"".join(out)


def _jpeg_segments(data: bytes) -> tuple[list[tuple[int, int, int]], int]:
    """``(marker, start, end)`` of each segment before the scan, and the scan's offset."""
    pos = 2
    segments: list[tuple[int, int, int]] = []
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError("JPEG segment does not start with 0xFF")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA or marker == 0xD9:
            return segments, pos
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("truncated JPEG segment")
        segments.append((marker, pos, end))
        pos = end
    raise ValueError("JPEG without a scan")


def _jpeg_xmp(data: bytes) -> str | None:
    segments, _ = _jpeg_segments(data)
    for marker, start, end in segments:
        if marker == 0xE1 and data[start + 4 : start + 4 + len(JPEG_XMP_HEADER)] == JPEG_XMP_HEADER:
            return data[start + 4 + len(JPEG_XMP_HEADER) : end].decode("utf-8")
    return None


def _jpeg_embed(data: bytes, packet: str) -> bytes:
    segments, scan = _jpeg_segments(data)
    body = JPEG_XMP_HEADER + packet.encode("utf-8")
    if len(body) + 2 > _MAX_JPEG_SEGMENT:
        raise ProvenanceError(f"XMP packet of {len(body)} bytes does not fit in one JPEG APP1 segment")
    segment = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    out = [data[:2]]
    placed = False
    for marker, start, end in segments:
        is_xmp = marker == 0xE1 and data[start + 4 : start + 4 + len(JPEG_XMP_HEADER)] == JPEG_XMP_HEADER
        if is_xmp:
            continue
        # After JFIF (APP0) and Exif (APP1), where readers expect XMP.
        if not placed and marker not in (0xE0, 0xE1):
            out.append(segment)
            placed = True
        out.append(data[start:end])
    if not placed:
        out.append(segment)
    out.append(data[scan:])
    return b"".join(out)


def _webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    (riff_size,) = struct.unpack("<I", data[4:8])
    end = min(len(data), 8 + riff_size)
    pos = 12
    chunks = []
    while pos + 8 <= end:
        fourcc = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        if pos + 8 + size > end:
            raise ValueError("truncated WebP chunk")
        chunks.append((fourcc, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    if not chunks:
        raise ValueError("WebP without chunks")
    return chunks


def _webp_xmp(data: bytes) -> str | None:
    for fourcc, payload in _webp_chunks(data):
        if fourcc == b"XMP ":
            return payload.decode("utf-8")
    return None


def _webp_canvas(chunks: list[tuple[bytes, bytes]]) -> tuple[int, int, bool]:
    """Width, height and whether alpha is used, read from a simple-format bitstream."""
    fourcc, payload = chunks[0]
    if fourcc == b"VP8 ":
        if len(payload) < 10 or payload[3:6] != b"\x9d\x01\x2a":
            raise ValueError("bad VP8 frame header")
        w, h = struct.unpack("<HH", payload[6:10])
        return w & 0x3FFF, h & 0x3FFF, False
    if fourcc == b"VP8L":
        if len(payload) < 5 or payload[0] != 0x2F:
            raise ValueError("bad VP8L header")
        (bits,) = struct.unpack("<I", payload[1:5])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)
    raise ValueError(f"unexpected first WebP chunk {fourcc!r}")


def _webp_embed(data: bytes, packet: str) -> bytes:
    chunks = _webp_chunks(data)
    if chunks[0][0] == b"VP8X":
        header = bytearray(chunks[0][1])
        header[0] |= 0x04  # XMP present
        head = [(b"VP8X", bytes(header))]
        rest = chunks[1:]
    else:
        # A simple-format file must become extended (VP8X) before it may carry metadata.
        w, h, alpha = _webp_canvas(chunks)
        flags = 0x04 | (0x10 if alpha else 0)
        vp8x = bytes([flags, 0, 0, 0]) + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
        head = [(b"VP8X", vp8x)]
        rest = chunks
    rest = [c for c in rest if c[0] != b"XMP "]
    # XMP follows the image data and EXIF; unknown chunks stay after it.
    known = {b"ICCP", b"ANIM", b"ANMF", b"ALPH", b"VP8 ", b"VP8L", b"EXIF"}
    cut = max((i + 1 for i, c in enumerate(rest) if c[0] in known), default=0)
    ordered = head + rest[:cut] + [(b"XMP ", packet.encode("utf-8"))] + rest[cut:]
    body = b"".join(f + struct.pack("<I", len(p)) + p + (b"\x00" if len(p) & 1 else b"") for f, p in ordered)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def has_c2pa_manifest(data: bytes, fmt: str) -> bool:
    """Whether the file already carries an embedded C2PA manifest store."""
    try:
        if fmt == "png":
            return any(t == b"caBX" for _, t, _ in _png_chunks(data))
        if fmt == "jpeg":
            segments, _ = _jpeg_segments(data)
            return any(m == 0xEB and b"c2pa" in data[s:e] for m, s, e in segments)
        if fmt == "webp":
            return any(f == b"C2PA" for f, _ in _webp_chunks(data))
    except (ValueError, struct.error):
        return False
    return False


_EXTRACT = {"png": _png_xmp, "jpeg": _jpeg_xmp, "webp": _webp_xmp}
_EMBED = {"png": _png_embed, "jpeg": _jpeg_embed, "webp": _webp_embed}


def extract_xmp(data: bytes) -> tuple[str | None, str | None]:
    """``(format, packet)`` of the first XMP packet in ``data``; either may be ``None``.

    PNG, JPEG and WebP are read by their container; any other file is scanned for an
    ``x:xmpmeta`` element, which finds XMP in TIFF, AVIF, HEIF and most other formats too.
    """
    fmt = sniff_format(data)
    if fmt is not None:
        try:
            return fmt, _EXTRACT[fmt](data)
        except (ValueError, struct.error, UnicodeDecodeError, zlib.error):
            pass  # malformed container: fall back to scanning the raw bytes
    # Two finds, not a regex: a file full of unclosed openings must not take quadratic time.
    start = data.find(b"<x:xmpmeta")
    end = data.find(b"</x:xmpmeta>", start) if start >= 0 else -1
    if end < 0:
        return fmt, None
    try:
        return fmt, data[start : end + len(b"</x:xmpmeta>")].decode("utf-8")
    except UnicodeDecodeError:
        return fmt, None


def embed_xmp(data: bytes, props: list[XmpProperty], *, fmt: str) -> bytes:
    """``data`` with ``props`` written into its XMP packet (created or merged), pixels untouched."""
    if fmt not in _EMBED:
        raise InputError(f"cannot write XMP into {fmt!r}; supported formats: png, jpeg, webp")
    actual = sniff_format(data)
    if actual != fmt:
        raise InputError(f"the bytes are not {fmt} (they look like {actual or 'an unknown format'})")
    if has_c2pa_manifest(data, fmt):
        raise ProvenanceError(
            "the image already carries a C2PA manifest; labels must be written before signing",
            hint="Apply labels to the encoded image, then sign it (signing is the last change).",
        )
    try:
        existing = _EXTRACT[fmt](data)
    except (ValueError, struct.error, UnicodeDecodeError, zlib.error) as e:
        raise InputError(f"malformed {fmt} file: {e}") from e
    packet = build_packet(props, existing=existing)
    try:
        return _EMBED[fmt](data, packet)
    except (ValueError, struct.error) as e:
        raise InputError(f"malformed {fmt} file: {e}") from e
