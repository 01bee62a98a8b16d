"""``hallmark verify`` end to end, through the real command line in a subprocess.

A HALLMARK_HOME is set up with the library (keys, a signed and watermarked image, its audit entry
and its stored manifest), then the CLI verifies it, a stripped copy, a tampered copy and a folder
of bad files, and writes JSON and HTML.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import uuid
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFilter
from skimage import data

REPO = Path(__file__).resolve().parents[2]


def hallmark(*args: str | Path, home: Path, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HALLMARK_HOME": str(home), "OMP_NUM_THREADS": "1"}
    env.pop("HALLMARK_AUDIT_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "hallmark", "verify", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO,
    )


def json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from hallmark import provenance as P
    from hallmark.audit import AuditLog
    from hallmark.pipeline._home import Home
    from hallmark.provenance.watermark._registry import watermark_scheme, watermark_schemes

    root = tmp_path_factory.mktemp("cli-verify")
    home = Home(root / "home")
    P.init_keys(home.keys)
    key = P.load_watermark_key(home.keys)
    rid = str(uuid.uuid4())
    scheme_id = watermark_schemes()[0]
    scheme = watermark_scheme(scheme_id, key=key)
    payload = P.payload_for_record(uuid.UUID(rid).bytes, scheme.payload_bits)
    rng = np.random.default_rng(3)
    base = Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).resize(
        (512, 512), Image.Resampling.BICUBIC
    )
    marked = scheme.embed(base.filter(ImageFilter.GaussianBlur(2)), payload)
    buf = io.BytesIO()
    marked.save(buf, "PNG")
    spec = P.ManifestSpec(
        title="lighthouse.png",
        software_agent="tiny-sd",
        watermark=P.SoftBinding(scheme_id, payload.hex()),
        policy_assertion={"policy": {"id": "default"}, "record_id": rid},
    )
    with P.C2paSigner.from_keys_dir(home.keys) as signer:
        signed = signer.sign(buf.getvalue(), mime="image/png", manifest=spec)
    images = root / "images"
    images.mkdir()
    (images / "signed.png").write_bytes(signed.data)
    P.ManifestStore(home.manifests).put(rid, signed.manifest_store)
    with AuditLog.open(home.audit_url) as log:
        log.append(
            "image.released",
            {
                "record_id": rid,
                "path": str(images / "signed.png"),
                "sha256": hashlib.sha256(signed.data).hexdigest(),
                "scheme_id": scheme_id,
                "payload": payload.hex(),
                "fingerprint": P.content_fingerprint(marked),
                "model": "tiny-sd",
                "seed": 1,
                "policy": {"id": "default", "version": 1, "digest": "d"},
                "decisions": {"prompt": {"action": "allow", "findings": []}, "image": {"action": "allow"}},
            },
            personal={"prompt": "PROMPTTEXT lighthouse", "user": "alice"},
        )
    # A copy re-saved as JPEG 75 at half size: the manifest is gone, the watermark stays.
    half = Image.open(io.BytesIO(signed.data)).convert("RGB").resize((256, 256), Image.Resampling.LANCZOS)
    half.save(root / "stripped.jpg", "JPEG", quality=75)
    tampered = bytearray(signed.data)
    tampered[-100] ^= 1
    (root / "tampered.png").write_bytes(bytes(tampered))
    # The mark lifted blind (the image minus a blurred copy of itself) onto an unrelated photo.
    pixels = np.asarray(marked, np.float32)
    residual = pixels - np.asarray(marked.filter(ImageFilter.GaussianBlur(1.2)), np.float32)
    photo = np.asarray(Image.fromarray(data.rocket()).resize((512, 512)), np.float32)
    forged = np.clip(np.rint(photo + 2 * residual), 0, 255).astype(np.uint8)
    Image.fromarray(forged).save(root / "transplant.jpg", "JPEG", quality=85)
    return {"home": home.root, "root": root, "images": images, "rid": rid, "payload": payload.hex()}


def test_signed_image_resolves_to_its_audit_record(world: dict[str, Any]) -> None:
    r = hallmark(world["images"] / "signed.png", "--json", home=world["home"])
    assert r.returncode == 0, r.stderr
    (doc,) = json_lines(r.stdout)
    assert doc["verdict"] == "hallmark-signed"
    assert doc["c2pa"]["state"] == "Trusted"  # the home's development CA is a trust anchor
    assert doc["record"]["record_id"] == world["rid"]
    assert doc["record"]["payload"] == world["payload"]
    assert doc["record"]["file_matches_record"] is True
    checks = {c["name"]: c["status"] for c in doc["checks"]}
    assert checks["audit"] == "passed" and checks["consistency"] == "passed"
    assert "PROMPTTEXT" not in r.stdout + r.stderr and "alice" not in r.stdout


def test_stripped_copy_is_recovered(world: dict[str, Any]) -> None:
    r = hallmark(world["root"] / "stripped.jpg", "--json", home=world["home"])
    assert r.returncode == 0, r.stderr
    (doc,) = json_lines(r.stdout)
    assert doc["verdict"] == "hallmark-recovered", doc["checks"]
    recovery = next(c for c in doc["checks"] if c["name"] == "recovery")
    assert recovery["status"] == "passed"
    assert "altered after signing" in recovery["summary"]
    assert doc["recovered"]["hallmark_policy"]["record_id"] == world["rid"]


def test_tampered_copy_exits_1_with_the_data_hash_code(world: dict[str, Any]) -> None:
    r = hallmark(world["root"] / "tampered.png", home=world["home"])
    assert r.returncode == 1
    assert "tampered" in r.stdout
    assert "assertion.dataHash.mismatch" in r.stdout


def bomb_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_folder_with_bad_files_continues_and_reports_each(world: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    (folder / "sub").mkdir(parents=True)
    signed = (world["images"] / "signed.png").read_bytes()
    (folder / "good.png").write_bytes(signed)
    (folder / "sub" / "tampered.png").write_bytes((world["root"] / "tampered.png").read_bytes())
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "garbage.jpg").write_bytes(os.urandom(3000))
    plain = io.BytesIO()
    Image.new("RGB", (300, 300), (90, 90, 200)).save(plain, "JPEG")
    (folder / "truncated.jpg").write_bytes(plain.getvalue()[:400])
    (folder / "mislabelled.jpg").write_bytes(signed)  # a PNG named .jpg
    (folder / "bomb.png").write_bytes(bomb_png())
    (folder / "readme.txt").write_text("not collected from a folder")
    html = tmp_path / "report.html"
    r = hallmark(folder, "--json", "--workers", "2", "--html", html, home=world["home"])
    assert r.returncode == 1, r.stderr  # one image is tampered
    docs = {Path(d["source"]).name: d for d in json_lines(r.stdout)}
    assert set(docs) == {
        "good.png",
        "tampered.png",
        "zero.jpg",
        "garbage.jpg",
        "truncated.jpg",
        "mislabelled.jpg",
        "bomb.png",
    }
    assert docs["good.png"]["verdict"] == "hallmark-signed"
    assert docs["tampered.png"]["verdict"] == "tampered"
    assert docs["mislabelled.jpg"]["verdict"] == "hallmark-signed"
    assert any("content is PNG" in w for w in docs["mislabelled.jpg"]["warnings"])
    assert "empty" in docs["zero.jpg"]["error"]
    assert "not an image format" in docs["garbage.jpg"]["error"]
    assert "truncated" in docs["truncated.jpg"]["error"]
    assert "decompression bomb" in docs["bomb.png"]["error"]
    page = html.read_text()
    assert page.count('<section class="image"') == 7 and "data:image/jpeg;base64," in page


def test_table_output_and_summary(world: dict[str, Any]) -> None:
    r = hallmark(world["images"], world["root"] / "stripped.jpg", home=world["home"])
    assert r.returncode == 0, r.stderr
    assert "hallmark-signed" in r.stdout and "hallmark-recovered" in r.stdout
    assert world["rid"][:8] in r.stdout


def test_a_transplanted_watermark_exits_1(world: dict[str, Any]) -> None:
    r = hallmark(world["root"] / "transplant.jpg", "--json", home=world["home"])
    assert r.returncode == 1, r.stderr
    (doc,) = json_lines(r.stdout)
    assert doc["verdict"] == "watermark-mismatch", doc["explanation"]
    binding = next(c for c in doc["checks"] if c["name"] == "binding")
    assert binding["status"] == "failed" and binding["codes"] == ["fingerprint.mismatch"]
    assert binding["details"]["distance"] > binding["details"]["threshold"]
    assert "fingerprint" not in doc["record"]
    table = hallmark(world["root"] / "transplant.jpg", home=world["home"])
    assert table.returncode == 1 and "watermark-mismatch" in table.stdout


def test_scheme_option_reads_only_the_named_schemes(world: dict[str, Any]) -> None:
    r = hallmark(
        world["root"] / "stripped.jpg", "--json", "--scheme", "hallmark.dwtdctsvd-bch", home=world["home"]
    )
    assert r.returncode == 0, r.stderr
    (doc,) = json_lines(r.stdout)
    names = [c["name"] for c in doc["checks"] if c["name"].startswith("watermark:")]
    assert names == ["watermark:hallmark.dwtdctsvd-bch"]
    assert doc["verdict"] == "no-provenance-found"
    bad = hallmark(world["root"] / "stripped.jpg", "--scheme", "nope", home=world["home"])
    assert bad.returncode == 2
    assert "unknown watermark scheme 'nope'; known: hallmark.wm1, hallmark.dwtdctsvd-bch" in bad.stderr


def test_only_unreadable_files_exit_2(world: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello, not an image")
    r = hallmark(bad, home=world["home"])
    assert r.returncode == 2
    assert "not an image format" in r.stdout
    assert (
        r.stderr.strip()
        == f"error: {bad}: not an image format Pillow can read (unsupported format, or not an image at all)"
    )


def test_missing_path_is_a_usage_error(world: dict[str, Any], tmp_path: Path) -> None:
    r = hallmark(tmp_path / "nope.png", home=world["home"])
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error: no such file or folder")
    assert len(r.stderr.strip().splitlines()) == 1


def test_an_unwritable_html_report_is_refused_before_any_image_is_read(
    world: dict[str, Any], tmp_path: Path
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for target, why in ((a_file / "report.html", "is not a folder"), (tmp_path, "it is a folder")):
        r = hallmark(world["images"], "--html", target, home=world["home"])
        assert r.returncode == 2, r.stderr
        (line,) = r.stderr.strip().splitlines()
        assert line.startswith("error: cannot write the HTML report to") and why in line
        assert r.stdout == ""  # refused before any image was read
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # and nothing was left behind


def test_bad_trust_file_is_a_usage_error(world: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("nope")
    r = hallmark(world["images"], "--trust", bad, home=world["home"])
    assert r.returncode == 2 and "no readable PEM certificate" in r.stderr


def test_verify_never_creates_an_audit_database(tmp_path: Path, world: dict[str, Any]) -> None:
    empty_home = tmp_path / "empty-home"
    r = hallmark(world["images"] / "signed.png", "--json", home=empty_home)
    assert r.returncode == 1, r.stderr  # no anchors, no key, no log: the hallmark claim is unconfirmed
    (doc,) = json_lines(r.stdout)
    assert doc["verdict"] == "untrusted-signer"
    assert doc["c2pa"]["assessment"] == "valid" and doc["c2pa"]["signer_trusted"] is False
    assert not (empty_home / "audit.db").exists() and not empty_home.exists()


def test_cold_start_stays_light() -> None:
    code = (
        "import sys, hallmark.pipeline.cli\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers', 'c2pa', 'numpy', 'imwatermark', 'cv2') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert r.returncode == 0, r.stderr


def test_empty_folder_and_bad_workers_are_usage_errors(world: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    r = hallmark(tmp_path / "empty", home=world["home"])
    assert r.returncode == 2 and r.stderr.startswith("error: no image files found")
    r = hallmark(world["images"], "--workers", "-1", home=world["home"])
    assert r.returncode == 2 and "--workers must be 0 or more" in r.stderr


def test_forged_hallmark_claims_exit_1_as_untrusted_signer(world: dict[str, Any], tmp_path: Path) -> None:
    """An attacker's own CA signs the released pixels with hallmark's claims copied: the victim's
    `hallmark verify` says untrusted-signer and exits 1 (it used to say hallmark-signed, exit 0)."""
    from hallmark import provenance as P

    attacker = tmp_path / "attacker-keys"
    P.init_keys(attacker)
    signed = (world["images"] / "signed.png").read_bytes()
    pixels = io.BytesIO()
    Image.open(io.BytesIO(signed)).convert("RGB").save(pixels, "PNG")
    spec = P.ManifestSpec(
        title="lighthouse.png",
        software_agent="tiny-sd",
        watermark=P.SoftBinding("hallmark.wm1", world["payload"]),
        policy_assertion={"policy": {"id": "default"}, "record_id": world["rid"]},
    )
    with P.C2paSigner.from_keys_dir(attacker) as signer:
        forged = signer.sign(pixels.getvalue(), mime="image/png", manifest=spec)
    path = tmp_path / "forged.png"
    path.write_bytes(forged.data)
    r = hallmark(path, "--json", home=world["home"])
    assert r.returncode == 1, r.stderr
    (doc,) = json_lines(r.stdout)
    assert doc["verdict"] == "untrusted-signer" and doc["passed"] is False
    assert {c["name"]: c["status"] for c in doc["checks"]}["c2pa"] == "checked"
    text = hallmark(path, home=world["home"])
    assert text.returncode == 1 and "untrusted-signer" in text.stdout
    assert "hallmark-signed" not in text.stdout


def test_identity_profiles_and_html(world: dict[str, Any], tmp_path: Path) -> None:
    cawg = REPO / "tests" / "assets" / "c2pa-rs-C_with_CAWG_data.jpg"
    html = tmp_path / "report.html"
    r = hallmark(cawg, "--profile", "eu_ai_act", "--html", html, home=world["home"])
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())  # rich wraps long lines
    assert "c2pa-signed" in out
    assert "identity checked Names C2PA Signer (issued by C2PA Test Signing Cert): not verified" in out
    assert "eu_ai_act:" in out
    assert "Labelling duties not checked for cn_gb45438, us_ca_sb942" in out
    page = html.read_text()
    assert 'class="identity" data-state="unverified"' in page and "labelling duties (eu_ai_act)" in page
    doc = json_lines(hallmark(cawg, "--json", "--profile", "eu_ai_act", home=world["home"]).stdout)[0]
    assert (
        doc["profiles"]["checked"] == ["eu_ai_act"] and doc["c2pa"]["identities"][0]["named"] == "C2PA Signer"
    )


def test_unknown_profile_is_a_usage_error(world: dict[str, Any]) -> None:
    r = hallmark(world["images"], "--profile", "eu_ai", home=world["home"])
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error: unknown labels profile 'eu_ai'; known profiles: cn_gb45438")
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_folder_walk_says_what_it_skipped(world: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "found"
    folder.mkdir()
    (folder / "zero.png").symlink_to("/dev/zero")
    (folder / "notes.txt").write_text("not an image")
    result = hallmark(folder, home=world["home"])
    assert result.returncode == 2
    assert "no image files found" in result.stderr
    assert "skipped 2 entries: 1 not image files (by name), 1 not regular files" in result.stderr
