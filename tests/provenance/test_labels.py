"""Regulation profiles end to end (provenance/labels/): Labeler, read_labels, check_compliance."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from hallmark.errors import InputError, ProvenanceError
from hallmark.policies import LabelsPolicy
from hallmark.policies._labels_schema import CnGb45438Settings, EuAiActSettings
from hallmark.provenance import (
    ComplianceRow,
    LabelContext,
    Labeler,
    LabelReading,
    check_compliance,
    declared_profiles,
    read_labels,
)
from hallmark.provenance.labels._integrity import integrity_code
from hallmark.provenance.labels._registry import PROFILES
from hallmark.provenance.labels._visible import find_font

NOW = dt.datetime(2026, 11, 24, 21, 0, tzinfo=dt.UTC)
ALL = ("cn_gb45438", "eu_ai_act", "us_ca_sb942")
TC = "http://www.tc260.org.cn/ns/AIGC/1.0/"
MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


@pytest.fixture(scope="module", autouse=True)
def _cjk_font() -> None:
    try:
        find_font("AI生成")
    except ProvenanceError:
        pytest.skip("no CJK font installed (run scripts/install-system-deps.sh)")


def _ctx(record_id: str = "01900000-0000-7000-8000-000000000001") -> LabelContext:
    return LabelContext(
        record_id=record_id,
        created=NOW,
        provider="Acme AI",
        model="tiny-sd",
        system_name="hallmark",
        system_version="0.1.0",
    )


def _labeler(*profiles: str, **kw: Any) -> Labeler:
    return Labeler.from_policy(LabelsPolicy(profiles=profiles or ALL, provider="Acme AI", **kw))


def _encoded(fmt: str, size: tuple[int, int] = (320, 256)) -> tuple[Image.Image, bytes]:
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, format=fmt.upper())
    return img, buf.getvalue()


# ----------------------------------------------------------------------------- Labeler


def test_profiles_run_in_registry_order_whatever_the_policy_order() -> None:
    labeler = Labeler.from_policy(LabelsPolicy(profiles=("us_ca_sb942", "cn_gb45438")))
    assert labeler.profiles == ["cn_gb45438", "us_ca_sb942"]
    assert list(PROFILES) == list(ALL)


def test_visible_label_only_for_cn_profile() -> None:
    img, _ = _encoded("png")
    assert _labeler("eu_ai_act", "us_ca_sb942").visible(img, _ctx()) is img
    labelled = _labeler("cn_gb45438").visible(img, _ctx())
    diff = np.abs(np.asarray(labelled, dtype=int) - np.asarray(img, dtype=int)).sum(axis=2) > 0
    ys, xs = np.nonzero(diff)
    assert ys.min() > 256 / 2 and xs.min() > 320 / 2  # bottom-right by default
    assert np.array_equal(np.asarray(img), np.asarray(_encoded("png")[0]))  # input untouched


def test_font_path_argument_overrides_the_policy(tmp_path: Path) -> None:
    with pytest.raises(ProvenanceError, match="label font not found"):
        Labeler.from_policy(LabelsPolicy(profiles=("cn_gb45438",)), font_path=tmp_path / "missing.otf")


def test_label_text_the_font_cannot_render_fails_at_construction() -> None:
    dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if not Path(dejavu).is_file():
        pytest.skip("DejaVuSans not installed")
    policy = LabelsPolicy(profiles=("cn_gb45438",), cn_gb45438=CnGb45438Settings(font_path=dejavu))
    with pytest.raises(ProvenanceError, match=r"cannot render the label text: no glyph for '生'"):
        Labeler.from_policy(policy)


def test_tiny_image_is_refused() -> None:
    with pytest.raises(InputError, match="image 48x48 is too small for a legible label"):
        _labeler("cn_gb45438").visible(Image.new("RGB", (48, 48)), _ctx())


def test_from_policy_needs_a_labels_policy() -> None:
    with pytest.raises(ProvenanceError, match="needs a LabelsPolicy, not dict"):
        Labeler.from_policy({"profiles": ["cn_gb45438"]})  # type: ignore[arg-type]


def test_unknown_profile_slipped_past_the_schema() -> None:
    bad = LabelsPolicy.model_construct(profiles=("eu_ai_actt",), provider="x")
    with pytest.raises(
        ProvenanceError,
        match="unknown labels profile 'eu_ai_actt'; known profiles: cn_gb45438, eu_ai_act, us_ca_sb942",
    ):
        Labeler.from_policy(bad)


def test_context_needs_an_aware_time_and_an_id() -> None:
    with pytest.raises(InputError, match="must be timezone-aware"):
        LabelContext("r", dt.datetime(2026, 1, 1), "p", "m", "s", "1")  # noqa: DTZ001
    with pytest.raises(InputError, match="needs a record id"):
        LabelContext("", NOW, "p", "m", "s", "1")


def test_context_time_is_written_in_utc() -> None:
    ctx = LabelContext(
        "r", dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), "p", "m", "s", "1"
    )
    assert ctx.created_iso == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_implicit_label_read_back_by_exiftool(fmt: str, tmp_path: Path) -> None:
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        pytest.skip("exiftool not installed (scripts/install-system-deps.sh installs it)")
    _, data = _encoded(fmt)
    out = _labeler().embed_metadata(data, fmt=fmt, ctx=_ctx())
    path = tmp_path / f"img.{fmt}"
    path.write_bytes(out)
    res = subprocess.run(
        [exiftool, "-j", "-G1", "-XMP:all", str(path)], capture_output=True, text=True, check=True
    )
    tags = json.loads(res.stdout)[0]
    label = json.loads(tags["XMP-TC260:Aigc"])
    assert label["Label"] == "1"
    assert label["ContentProducer"] == "Acme AI"
    assert label["ProduceID"] == _ctx().record_id
    assert label["ReservedCode1"] == integrity_code(label, ("Label", "ContentProducer", "ProduceID"))
    assert "ContentPropagator" not in label
    assert tags["XMP-iptcExt:DigitalSourceType"].endswith("/trainedAlgorithmicMedia")


def test_configured_namespace_producer_and_propagator() -> None:
    settings = CnGb45438Settings(
        xmp_namespace="http://example.cn/ns/aigc/",
        xmp_prefix="EX",
        content_producer="91110000MA00000000",
        content_propagator="PlatformCo",
        propagate_id_prefix="pf-",
    )
    labeler = Labeler.from_policy(LabelsPolicy(profiles=("cn_gb45438",), cn_gb45438=settings))
    _, data = _encoded("png")
    reading = read_labels(labeler.embed_metadata(data, fmt="png", ctx=_ctx("abc")))
    assert reading.tc260_namespace == "http://example.cn/ns/aigc/"
    tc = dict(reading.tc260 or {})
    assert tc["ContentProducer"] == "91110000MA00000000"
    assert (tc["ContentPropagator"], tc["PropagateID"]) == ("PlatformCo", "pf-abc")
    assert tc["ReservedCode2"] == integrity_code(tc, ("ContentPropagator", "PropagateID"))
    assert reading.reserved_code1 == "ok"
    assert list(tc) == [
        "Label",
        "ContentProducer",
        "ProduceID",
        "ReservedCode1",
        "ContentPropagator",
        "PropagateID",
        "ReservedCode2",
    ]


def test_hmac_integrity_code_needs_the_key_to_verify() -> None:
    key = b"k" * 32
    labeler = Labeler.from_policy(LabelsPolicy(profiles=("cn_gb45438",)), integrity_key=key)
    _, data = _encoded("jpeg")
    out = labeler.embed_metadata(data, fmt="jpg", ctx=_ctx())
    assert str((read_labels(out).tc260 or {})["ReservedCode1"]).startswith("hmac-sha256:")
    assert read_labels(out).reserved_code1 == "unverified"
    assert read_labels(out, key=key).reserved_code1 == "ok"
    assert read_labels(out, key=b"x" * 32).reserved_code1 == "mismatch"


def test_no_metadata_profile_leaves_bytes_alone() -> None:
    _, data = _encoded("png")
    assert _labeler("us_ca_sb942").embed_metadata(data, fmt="png", ctx=_ctx()) is data


def test_embed_metadata_unknown_format() -> None:
    with pytest.raises(InputError, match="cannot label format 'tiff'"):
        _labeler().embed_metadata(b"II*\x00", fmt="tiff", ctx=_ctx())


def test_assertions() -> None:
    assertions = {a["label"]: a["data"] for a in _labeler().assertions(_ctx())}
    sb = assertions["org.hallmark.ca-sb942.latent-disclosure"]
    assert sb["provider"] == "Acme AI" and sb["system_name"] == "hallmark" and sb["system_version"] == "0.1.0"
    assert sb["created"] == "2026-11-24T21:00:00Z" and sb["content_id"] == _ctx().record_id
    cn = assertions["org.hallmark.gb45438"]
    assert cn["explicit_label"]["text"] == "AI生成" and cn["implicit_label"]["xmp_property"] == "TC260:AIGC"


# ----------------------------------------------------------------------------- read_labels


def _png_with_xmp(packet: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def _packet(inner: str, ns: str = TC) -> str:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:P="{ns}">{inner}</rdf:Description></rdf:RDF></x:xmpmeta>'
    )


def test_reads_a_label_written_by_another_provider() -> None:
    # Element form, another namespace, a hex ReservedCode1 we cannot check, numbers instead of strings.
    label = {"Label": 1, "ContentProducer": "OtherCo", "ProduceID": "x-9", "ReservedCode1": "3045022100ab"}
    reading = read_labels(_png_with_xmp(_packet(f"<P:AIGC>{json.dumps(label)}</P:AIGC>", "http://other/ns/")))
    assert reading.xmp_found and reading.tc260 == label and reading.tc260_namespace == "http://other/ns/"
    assert reading.reserved_code1 == "unverified" and reading.ai_generated is True


@pytest.mark.parametrize(
    ("inner", "problem"),
    [
        ("<P:AIGC>not json</P:AIGC>", "the AIGC property is not JSON"),
        ("<P:AIGC>[1, 2]</P:AIGC>", "JSON but not an object"),
        (
            '<P:AIGC>{"Label":"1"}</P:AIGC><P:AIGC>{"Label":"2"}</P:AIGC>',
            "2 AIGC properties; the first is read",
        ),
    ],
)
def test_odd_labels_are_reported(inner: str, problem: str) -> None:
    reading = read_labels(_png_with_xmp(_packet(inner)))
    assert any(problem in p for p in reading.problems), reading.problems


def test_unreadable_xmp_is_reported() -> None:
    reading = read_labels(_png_with_xmp("<x:xmpmeta><rdf:RDF><unclosed></x:xmpmeta>"))
    assert reading.xmp_found and reading.tc260 is None and reading.problems[0].startswith("unreadable XMP")


def test_tampered_label_is_a_mismatch() -> None:
    _, data = _encoded("png")
    out = _labeler("cn_gb45438").embed_metadata(data, fmt="png", ctx=_ctx())
    tampered = out.replace(b"Acme AI", b"Evil AI")
    # The iTXt CRC no longer matches, but readers go by the text; our reader does too.
    reading = read_labels(tampered)
    assert reading.reserved_code1 == "mismatch"


def test_unlabelled_image() -> None:
    _, data = _encoded("png")
    reading = read_labels(data)
    assert reading == LabelReading(format="png", xmp_found=False)
    assert reading.ai_generated is None
    assert read_labels(b"").format is None


# ----------------------------------------------------------------------------- check_compliance


def _c2pa(**kw: Any) -> dict[str, Any]:
    labeler = _labeler()
    assertions = [
        {
            "label": "c2pa.actions.v2",
            "data": {
                "actions": [
                    {
                        "action": "c2pa.created",
                        "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
                    }
                ]
            },
        },
        *labeler.assertions(_ctx()),
    ]
    return {
        "present": True,
        "valid": True,
        "state": "Trusted",
        "timestamped": False,
        "assertions": assertions,
        **kw,
    }


def _full_evidence() -> dict[str, Any]:
    _, data = _encoded("png")
    out = _labeler().embed_metadata(data, fmt="png", ctx=_ctx())
    return {
        "c2pa": _c2pa(),
        "watermark": {"found": True, "scheme_id": "hallmark.dwtdctsvd-bch", "payload": "abcd"},
        "audit": {"record_id": _ctx().record_id, "kind": "image.released", "retention_days": 365},
        "labels": read_labels(out),
    }


def _states(rows: list[ComplianceRow]) -> dict[tuple[str, str], str]:
    return {(r.profile, r.duty): r.state for r in rows}


def test_everything_met() -> None:
    rows = check_compliance(ALL, **_full_evidence())
    assert set(_states(rows).values()) == {"met"}, [r.to_dict() for r in rows if r.state != "met"]
    assert {r.profile for r in rows} == set(ALL)
    explicit = next(r for r in rows if r.duty == "explicit_label")
    assert "the pixels are not read" in explicit.evidence


def test_declared_profiles_from_the_markers() -> None:
    """Each profile's own marker declares it: the GB 45438 and SB 942 manifest assertions, a TC260
    label in XMP; the EU AI Act has no marker of its own (any AI tool declares AI generation)."""
    ev = _full_evidence()
    assert declared_profiles(c2pa=ev["c2pa"], labels=ev["labels"]) == ["cn_gb45438", "us_ca_sb942"]
    only_xmp = {"present": False, "state": "absent"}
    assert declared_profiles(c2pa=only_xmp, labels=ev["labels"]) == ["cn_gb45438"]
    assert declared_profiles(c2pa=_c2pa(assertions=[]), labels=read_labels(_encoded("png")[1])) == []
    assert declared_profiles() == []


def test_declared_profiles_from_hallmarks_policy_assertion() -> None:
    policy = {
        "label": "org.hallmark.policy",
        "data": {"stages": {"labels": "applied: eu_ai_act, us_ca_sb942"}},
    }
    assert declared_profiles(c2pa=_c2pa(assertions=[policy])) == ["eu_ai_act", "us_ca_sb942"]
    skipped = {
        "label": "org.hallmark.policy",
        "data": {"stages": {"labels": "skipped: no profile in policy"}},
    }
    assert declared_profiles(c2pa=_c2pa(assertions=[skipped])) == []
    odd = {"label": "org.hallmark.policy", "data": {"stages": {"labels": "applied: not_a_profile"}}}
    assert declared_profiles(c2pa=_c2pa(assertions=[odd])) == []


def test_nothing_checked() -> None:
    rows = check_compliance(None)
    assert set(_states(rows).values()) == {"not_checked"}
    assert len(rows) == 9  # cn 4, eu 3, sb942 2


def test_policy_settings_are_used() -> None:
    policy = LabelsPolicy(profiles=("eu_ai_act",), eu_ai_act=EuAiActSettings(require_timestamp=True))
    rows = check_compliance(policy, **_full_evidence())
    assert _states(rows)[("eu_ai_act", "machine_readable_marking")] == "not_met"
    assert "no timestamp" in rows[0].evidence
    rows = check_compliance(policy, **{**_full_evidence(), "c2pa": _c2pa(timestamped=True)})
    assert _states(rows)[("eu_ai_act", "machine_readable_marking")] == "met"


@pytest.mark.parametrize(
    ("change", "duty", "evidence"),
    [
        ({"c2pa": {"present": False}}, ("eu_ai_act", "machine_readable_marking"), "no C2PA manifest"),
        (
            {"c2pa": {"present": True, "valid": False, "state": "Invalid"}},
            ("us_ca_sb942", "latent_disclosure"),
            "C2PA manifest Invalid",
        ),
        (
            {"c2pa": {"valid": True, "ai_generated": False}},
            ("eu_ai_act", "machine_readable_marking"),
            "does not declare AI generation",
        ),
        (
            {"c2pa": {"valid": True, "assertions": {}}},
            ("us_ca_sb942", "latent_disclosure"),
            "without a org.hallmark.ca-sb942.latent-disclosure",
        ),
        (
            {
                "c2pa": {
                    "valid": True,
                    "assertions": {"org.hallmark.ca-sb942.latent-disclosure": {"provider": "x"}},
                }
            },
            ("us_ca_sb942", "latent_disclosure"),
            "lacks system_name, system_version, created, content_id",
        ),
        ({"watermark": {"found": False}}, ("eu_ai_act", "watermark"), "no imperceptible watermark"),
        ({"watermark": {"found": False}}, ("cn_gb45438", "implicit_watermark"), "encouraged, not required"),
        ({"watermark": {"found": False}}, ("us_ca_sb942", "resolvable_from_watermark"), "no watermark found"),
        ({"audit": {"found": False}}, ("eu_ai_act", "logging"), "no audit record"),
        (
            {"audit": {"found": False}},
            ("us_ca_sb942", "resolvable_from_watermark"),
            "resolves to no audit record",
        ),
        ({"audit": {"found": False}}, ("cn_gb45438", "record_retention"), "no audit record"),
        (
            {"audit": {"record_id": "other"}},
            ("us_ca_sb942", "resolvable_from_watermark"),
            "differs from the disclosure's id",
        ),
        (
            {"audit": {"record_id": "other"}},
            ("cn_gb45438", "implicit_label_metadata"),
            "ProduceID differs from the audit record id",
        ),
        (
            {"audit": {"record_id": _ctx().record_id, "retention_days": 30}},
            ("cn_gb45438", "record_retention"),
            "30 days < 183",
        ),
        (
            {"labels": LabelReading(format="png", xmp_found=False)},
            ("cn_gb45438", "implicit_label_metadata"),
            "no XMP metadata",
        ),
        (
            {"labels": LabelReading(format="png", xmp_found=True)},
            ("cn_gb45438", "implicit_label_metadata"),
            "without a TC260 AIGC",
        ),
        (
            {"labels": {"xmp_found": True, "tc260": {"Label": "1"}}},
            ("cn_gb45438", "implicit_label_metadata"),
            "missing ContentProducer, ProduceID",
        ),
        (
            {
                "labels": {
                    "xmp_found": True,
                    "tc260": {"Label": "2", "ContentProducer": "a", "ProduceID": "b"},
                }
            },
            ("cn_gb45438", "implicit_label_metadata"),
            "Label is '2'",
        ),
        (
            {
                "labels": {
                    "xmp_found": True,
                    "reserved_code1": "mismatch",
                    "tc260": {"Label": "1", "ContentProducer": "a", "ProduceID": "b"},
                }
            },
            ("cn_gb45438", "implicit_label_metadata"),
            "ReservedCode1 does not match",
        ),
    ],
)
def test_each_failure_is_not_met_with_evidence(
    change: dict[str, Any], duty: tuple[str, str], evidence: str
) -> None:
    rows = check_compliance(ALL, **{**_full_evidence(), **change})
    row = next(r for r in rows if (r.profile, r.duty) == duty)
    assert row.state == "not_met" and evidence in row.evidence, row


def test_not_checked_when_an_input_is_missing() -> None:
    ev = _full_evidence()
    states = _states(check_compliance(ALL, **{**ev, "audit": None}))
    assert states[("eu_ai_act", "logging")] == "not_checked"
    assert states[("us_ca_sb942", "resolvable_from_watermark")] == "not_checked"
    assert states[("cn_gb45438", "record_retention")] == "not_checked"
    states = _states(
        check_compliance(ALL, **{**ev, "audit": {"record_id": "01900000-0000-7000-8000-000000000001"}})
    )
    assert states[("cn_gb45438", "record_retention")] == "not_checked"  # retention unknown
    states = _states(check_compliance(["cn_gb45438"], **{**ev, "c2pa": None, "labels": None}))
    assert states[("cn_gb45438", "explicit_label")] == "not_checked"
    assert states[("cn_gb45438", "implicit_label_metadata")] == "not_checked"


def test_ai_generation_read_from_the_actions() -> None:
    ev = _full_evidence()
    c2pa = _c2pa()
    c2pa["assertions"] = {a["label"]: a["data"] for a in c2pa["assertions"]}
    c2pa["assertions"]["c2pa.actions.v2"]["actions"][0]["digitalSourceType"] = (
        "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
    )
    rows = check_compliance(["eu_ai_act"], **{**ev, "c2pa": c2pa})
    assert rows[0].state == "not_met" and "does not declare AI generation" in rows[0].evidence


def test_check_compliance_unknown_profile() -> None:
    with pytest.raises(ProvenanceError, match="unknown labels profile 'gdpr'"):
        check_compliance(["gdpr"])


# ----------------------------------------------------------------------------- with C2PA


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_c2pa_still_validates_after_labelling(fmt: str, tmp_path: Path) -> None:
    c2pa = pytest.importorskip("c2pa")
    from hallmark.provenance import C2paSigner, ManifestSpec, init_keys

    init_keys(tmp_path / "keys")
    labeler = _labeler()
    ctx = _ctx()
    img, _ = _encoded(fmt)
    buf = io.BytesIO()
    labeler.visible(img, ctx).save(buf, format=fmt.upper())
    data = labeler.embed_metadata(buf.getvalue(), fmt=fmt, ctx=ctx)
    with C2paSigner.from_keys_dir(tmp_path / "keys") as signer:
        spec = ManifestSpec(
            title=f"x.{fmt}", software_agent="tiny-sd", extra_assertions=labeler.assertions(ctx)
        )
        signed = signer.sign(data, mime=MIME[fmt], manifest=spec).data
    with pytest.raises(ProvenanceError, match="before signing"):
        labeler.embed_metadata(signed, fmt=fmt, ctx=ctx)
    reader = c2pa.Reader(MIME[fmt], io.BytesIO(signed))
    store = json.loads(reader.json())
    codes = [s["code"] for s in store.get("validation_status", [])]
    assert store["validation_state"] in ("Valid", "Trusted"), codes
    assert not [c for c in codes if "mismatch" in c]
    manifest = store["manifests"][store["active_manifest"]]
    assertions = {a["label"]: a["data"] for a in manifest["assertions"]}
    # The labels survive signing, and the whole chain reads as compliant.
    reading = read_labels(signed)
    assert reading.reserved_code1 == "ok" and (reading.tc260 or {})["ProduceID"] == ctx.record_id
    rows = check_compliance(
        ALL,
        c2pa={"present": True, "valid": True, "state": store["validation_state"], "assertions": assertions},
        watermark={"found": True, "scheme_id": "test"},
        audit={"record_id": ctx.record_id, "retention_days": 183},
        labels=reading,
    )
    assert {r.state for r in rows} == {"met"}, [r.to_dict() for r in rows if r.state != "met"]


def test_c2pa_summary_shapes_from_the_verifier() -> None:
    ev = _full_evidence()
    raw = _c2pa()["assertions"] + [{"label": "org.hallmark.ca-sb942.latent-disclosure", "data": {}}]
    summary = {"state": "Valid", "present": True, "signed_at": None, "assertions": raw}
    rows = check_compliance(["eu_ai_act", "us_ca_sb942"], **{**ev, "c2pa": summary})
    states = _states(rows)
    # valid from the state, AI generation from the actions, the first of two same-label assertions.
    assert states[("eu_ai_act", "machine_readable_marking")] == "met" and "no timestamp" in rows[0].evidence
    assert states[("us_ca_sb942", "latent_disclosure")] == "met"
    stamped = {**summary, "signed_at": "2026-11-24T21:00:00Z"}
    policy = LabelsPolicy(profiles=("eu_ai_act",), eu_ai_act=EuAiActSettings(require_timestamp=True))
    assert check_compliance(policy, **{**ev, "c2pa": stamped})[0].state == "met"
    invalid = {**summary, "state": "Invalid"}
    assert check_compliance(["eu_ai_act"], **{**ev, "c2pa": invalid})[0].state == "not_met"


def test_a_single_profile_name_is_not_split_into_letters() -> None:
    rows = check_compliance("eu_ai_act")
    assert {r.profile for r in rows} == {"eu_ai_act"}


# ----------------------------------------------------------------------------- robustness


def _labelled(fmt: str) -> bytes:
    _, data = _encoded(fmt, size=(64, 48))
    return _labeler("cn_gb45438", "eu_ai_act").embed_metadata(data, fmt=fmt, ctx=_ctx())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fmt=st.sampled_from(["png", "jpeg", "webp"]),
    cut=st.integers(min_value=0, max_value=4000),
    flips=st.lists(
        st.tuples(st.integers(min_value=0, max_value=4000), st.integers(min_value=0, max_value=255)),
        max_size=8,
    ),
)
def test_read_labels_never_raises_on_damaged_files(fmt: str, cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(_LABELLED[fmt])
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    reading = read_labels(bytes(data[: len(data) - cut]))
    assert isinstance(reading, LabelReading)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_read_labels_never_raises_on_garbage(blob: bytes) -> None:
    for prefix in (b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\x10\x00\x00\x00WEBP", b"<x:xmpmeta"):
        assert isinstance(read_labels(prefix + blob), LabelReading)


def test_deeply_nested_json_label() -> None:
    reading = read_labels(_png_with_xmp(_packet("<P:AIGC>" + "[" * 100_000 + "</P:AIGC>")))
    assert "not JSON" in reading.problems[0]


_LABELLED: dict[str, bytes] = {}


@pytest.fixture(scope="module", autouse=True)
def _labelled_files(_cjk_font: None) -> None:
    for fmt in ("png", "jpeg", "webp"):
        _LABELLED[fmt] = _labelled(fmt)
