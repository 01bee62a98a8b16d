"""GuardedPipeline.edit: the input checked before any model runs, the output carrying the chain."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import c2pa
import numpy as np
import pytest
from PIL import Image

from hallmark.audit import AuditLog
from hallmark.errors import InputError
from hallmark.pipeline import GuardedPipeline
from hallmark.provenance import init_keys, verify_image

COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def photo(size: int = 320) -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut()).resize((size, size))


def redraw(image: Image.Image, prompt: str, *, mask: Any = None, n: int = 1) -> list[Image.Image]:
    """A real, if simple, editor: inverts the picture (inside the mask when there is one)."""
    inverted = Image.fromarray(255 - np.asarray(image))
    return [Image.composite(inverted, image, mask) if mask is not None else inverted for _ in range(n)]


@pytest.fixture
def keyed_home(home: Path) -> Path:
    init_keys(home / "keys")
    return home


def entries(home: Path) -> list[Any]:
    with AuditLog.open(
        f"sqlite:///{home / 'audit.db'}", key_path=home / "keys" / "audit-checkpoint.key"
    ) as log:
        return list(log.entries())


def manifest_of(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    with open(path, "rb") as f, c2pa.Reader("image/png", f) as reader:
        store = json.loads(reader.json())
    return store, store["manifests"][store["active_manifest"]]


def actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        x
        for a in manifest["assertions"]
        if a["label"].startswith("c2pa.actions")
        for x in a["data"]["actions"]
    ]


def signed_input(
    home: Path, tmp_path: Path, *, training: dict[str, Any] | None, label: str = "cawg.training-mining"
) -> Path:
    """A JPEG really signed with c2pa-python by the home's test certificate (another signer's photo)."""
    from hallmark.provenance.c2pa._keys import pkcs8_pem, read_secret

    chain = (home / "keys" / "signer-chain.pem").read_bytes()
    key = pkcs8_pem(read_secret(home / "keys" / "signer.key"))
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(alg=b"es256", sign_cert=chain, private_key=key, ta_url=None)
    )
    assertions: list[dict[str, Any]] = [
        {
            "label": "c2pa.actions",
            "data": {
                "actions": [
                    {
                        "action": "c2pa.created",
                        "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
                    }
                ]
            },
        }
    ]
    if training is not None:
        assertions.append({"label": label, "data": {"entries": training}})
    raw = io.BytesIO()
    photo().save(raw, format="JPEG", quality=90)
    out = io.BytesIO()
    with c2pa.Builder(
        {"claim_generator_info": [{"name": "camera"}], "title": "photo.jpg", "assertions": assertions}
    ) as b:
        b.sign(signer, "image/jpeg", io.BytesIO(raw.getvalue()), out)
    signer.close()
    path = tmp_path / "signed.jpg"
    path.write_bytes(out.getvalue())
    return path


def test_an_edit_with_the_tiny_model_carries_the_input_as_its_parent_ingredient(
    keyed_home: Path, tmp_path: Path
) -> None:
    src = tmp_path / "photo.jpg"
    photo().save(src, quality=90)
    with GuardedPipeline.from_pretrained("tiny", home=keyed_home) as pipe:
        result = pipe.edit(src, "make it night", out_dir=tmp_path / "out", seed=3)
    (image,) = result.images
    store, manifest = manifest_of(image.path)
    assert store["validation_state"] in ("Valid", "Trusted")
    (ingredient,) = manifest["ingredients"]
    assert ingredient["relationship"] == "parentOf" and ingredient["title"] == "photo.jpg"
    assert "thumbnail" in ingredient  # no credentials of its own: a thumbnail stands for it
    kinds = [a["action"] for a in actions(manifest)]
    assert kinds[:2] == ["c2pa.opened", "c2pa.edited"] and "c2pa.created" not in kinds
    assert actions(manifest)[1]["digitalSourceType"] == TRAINED
    (entry,) = entries(keyed_home)
    assert entry.kind == "image.released"
    assert entry.data["input"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert entry.data["input"]["credentials"]["verdict"] == "no-provenance-found"
    assert "pixels" not in json.dumps(entry.data["input"])
    report = verify_image(image.path)
    chain = report.check("chain")
    assert chain is not None and chain.summary == (
        f"Edited with AI (hallmark record {image.record_id}) from an image with no provenance."
    )


def test_inpainting_a_region_is_a_composite(keyed_home: Path, tmp_path: Path) -> None:
    mask = Image.new("L", (320, 320), 0)
    mask.paste(255, (40, 40, 200, 200))
    with GuardedPipeline(redraw, home=keyed_home, editor=redraw) as pipe:
        result = pipe.edit(photo(), "add a rainbow", mask=mask, out_dir=tmp_path / "out")
    (image,) = result.images
    _, manifest = manifest_of(image.path)
    assert actions(manifest)[1]["action"] == "c2pa.edited"
    assert actions(manifest)[1]["digitalSourceType"] == COMPOSITE
    assert entries(keyed_home)[0].data["input"]["mask"] is True


def test_remove_her_clothes_is_refused_and_recorded_with_nothing_written(
    keyed_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with GuardedPipeline(redraw, home=keyed_home, editor=redraw) as pipe:
        result = pipe.edit(photo(), "remove her clothes", out_dir=out)
    assert result.blocked and not result.images and not out.exists()
    (entry,) = entries(keyed_home)
    assert entry.kind == "edit.refused"
    rules = [f["rule_id"] for f in entry.data["decisions"]["prompt"]["findings"]]
    assert any(r.startswith("edit.intimate_edit.") for r in rules)
    assert len(entry.data["input"]["sha256"]) == 64


@pytest.mark.parametrize(
    "label,use",
    [("cawg.training-mining", "cawg.ai_inference"), ("c2pa.training-mining", "c2pa.ai_inference")],
)
def test_an_input_whose_credentials_forbid_ai_inference_is_refused_naming_the_assertion(
    keyed_home: Path, tmp_path: Path, label: str, use: str
) -> None:
    src = signed_input(keyed_home, tmp_path, training={use: {"use": "notAllowed"}}, label=label)
    with GuardedPipeline(redraw, home=keyed_home, editor=redraw) as pipe:
        result = pipe.edit(src, "make it night", out_dir=tmp_path / "out")
    assert result.blocked and not result.images
    (finding,) = [f for f in result.decision.findings if f.category == "input_credentials"]
    assert finding.rule_id == f"edit.input.{label}.ai_inference"
    assert label in finding.explanation and f"{use}: notAllowed" in finding.explanation
    assert "hallmark development signer" in finding.explanation  # the signer is named
    (entry,) = entries(keyed_home)
    assert entry.kind == "edit.refused" and entry.data["input"]["refused"] == [finding.rule_id]


def test_a_signed_input_is_embedded_with_its_manifest_and_verify_shows_the_chain(
    keyed_home: Path, tmp_path: Path
) -> None:
    src = signed_input(keyed_home, tmp_path, training={"cawg.ai_inference": {"use": "allowed"}})
    with GuardedPipeline(redraw, home=keyed_home, editor=redraw) as pipe:
        result = pipe.edit(src, "make it night", out_dir=tmp_path / "out")
    (image,) = result.images
    store, manifest = manifest_of(image.path)
    (ingredient,) = manifest["ingredients"]
    assert ingredient["active_manifest"] in store["manifests"]  # the input's own store came along
    report = verify_image(image.path)
    assert report.c2pa is not None and report.c2pa.chain[0].has_manifest
    chain = report.check("chain")
    assert chain is not None and "from an image signed by hallmark development signer" in chain.summary
    assert entries(keyed_home)[0].data["input"]["credentials"]["valid"] is True


def test_invalid_input_credentials_are_recorded_and_the_policy_decides(
    keyed_home: Path, tmp_path: Path
) -> None:
    src = signed_input(keyed_home, tmp_path, training=None)
    data = bytearray(src.read_bytes())
    data[-200] ^= 0xFF  # a change to the picture after signing
    src.write_bytes(bytes(data))
    with GuardedPipeline(redraw, home=keyed_home, editor=redraw) as pipe:
        allowed = pipe.edit(src, "make it night", out_dir=tmp_path / "out")
    assert allowed.images
    assert entries(keyed_home)[0].data["input"]["credentials"]["valid"] is False
    report = verify_image(allowed.images[0].path)
    chain = report.check("chain")
    assert chain is not None and "whose credentials did not validate when it was edited" in chain.summary
    assert report.c2pa is not None and report.c2pa.valid  # the edit's own credentials are intact
    strict = tmp_path / "block.yaml"
    strict.write_text("id: t\nextends: default\nedit:\n  input:\n    invalid_credentials: block\n")
    with GuardedPipeline(redraw, home=keyed_home, editor=redraw, policy=str(strict)) as pipe:
        refused = pipe.edit(src, "make it night", out_dir=tmp_path / "out2")
    assert refused.blocked and "edit.input.invalid_credentials" in [
        f.rule_id for f in refused.decision.findings
    ]


def test_a_hallmark_marked_input_links_the_new_record_to_its_parent(keyed_home: Path, tmp_path: Path) -> None:
    def render(prompt: str, n: int, width: int, height: int) -> list[Image.Image]:
        return [photo(width).resize((width, height)) for _ in range(n)]

    with GuardedPipeline(render, home=keyed_home, editor=redraw) as pipe:
        (parent,) = pipe("a portrait", out_dir=tmp_path / "out").images
        stripped = tmp_path / "stripped.png"  # re-saved: credentials gone, the watermark stays
        Image.open(parent.path).save(stripped)
        refused = pipe.edit(stripped, "make it night", out_dir=tmp_path / "out")
    # The recovered credentials of the parent say ai_inference: notAllowed (hallmark's default).
    assert refused.blocked
    entry = entries(keyed_home)[-1]
    assert entry.kind == "edit.refused" and entry.data["input"]["parent_record"] == parent.record_id


def test_a_sexual_edit_of_an_image_flagged_as_a_minor_is_refused(
    keyed_home: Path, tmp_path: Path, tiny_vit: Path
) -> None:
    from hallmark.guardrails import ImageSafety

    class Scores:
        def __init__(self, name: str, **scores: float) -> None:
            self.name, self.scores = name, scores

        def score(self, images: list[Image.Image]) -> list[dict[str, float]]:
            return [dict(self.scores) for _ in images]

    policy = tmp_path / "p.yaml"
    policy.write_text(
        "id: t\nextends: default\nimage:\n  backends:\n"
        f"    - {{id: vit, type: hf-image-classifier, model: '{tiny_vit}', covers: {{"
        "depicts_minor: {labels: [child], thresholds: {flag: 0.99}}}}\n"
    )
    with GuardedPipeline(redraw, home=keyed_home, editor=redraw, policy=str(policy)) as pipe:
        pipe.stages.image_safety = ImageSafety(
            pipe.policy,
            classifiers={"opennsfw": Scores("opennsfw", nsfw=0.0), "vit": Scores("vit", depicts_minor=0.995)},
        )
        result = pipe.edit(photo(), "make her nude", out_dir=tmp_path / "out")
        assert result.blocked and "edit.sexual_minors" in [f.rule_id for f in result.decision.findings]
        fine = pipe.edit(photo(), "make it night", out_dir=tmp_path / "out")
    assert fine.images  # the same image, edited without a sexual request, is released
    assert not (tmp_path / "out").exists() or len(list((tmp_path / "out").iterdir())) == 1


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"mask": Image.new("L", (100, 100))}, "the mask is 100x100"),
        ({"mask": Image.new("RGB", (320, 320))}, "single-channel"),
        ({"strength": 0.0}, "strength must be above 0"),
    ],
)
def test_bad_masks_and_settings_fail_before_any_model_runs(
    keyed_home: Path, tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    def never(*a: Any, **k: Any) -> list[Image.Image]:
        raise AssertionError("the editor ran")

    with GuardedPipeline(redraw, home=keyed_home, editor=never) as pipe:
        with pytest.raises(InputError, match=message):
            pipe.edit(photo(), "make it night", out_dir=tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_animated_and_unreadable_inputs_are_refused(keyed_home: Path, tmp_path: Path) -> None:
    anim = tmp_path / "anim.png"
    photo().save(anim, save_all=True, append_images=[photo().rotate(90)])
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with GuardedPipeline(redraw, home=keyed_home, editor=redraw) as pipe:
        with pytest.raises(InputError, match="animated or has several frames"):
            pipe.edit(anim, "make it night", out_dir=tmp_path / "out")
        with pytest.raises(InputError, match="not a readable image"):
            pipe.edit(junk, "make it night", out_dir=tmp_path / "out")


def test_labels_say_edited_with_ai_in_each_profiles_words(keyed_home: Path, tmp_path: Path) -> None:
    policy = tmp_path / "labels.yaml"
    policy.write_text(
        "id: t\nextends: default\nlabels:\n  profiles: [eu_ai_act, cn_gb45438, us_ca_sb942]\n"
        "audit:\n  retention_days: 183\n"
    )
    mask = Image.new("L", (320, 320), 0)
    mask.paste(255, (0, 0, 160, 160))

    def render(prompt: str, n: int, width: int, height: int) -> list[Image.Image]:
        return [photo(width).resize((width, height)) for _ in range(n)]

    with GuardedPipeline(render, home=keyed_home, editor=redraw, policy=str(policy)) as pipe:
        (edited,) = pipe.edit(photo(), "add a rainbow", mask=mask, out_dir=tmp_path / "out").images
        (made,) = pipe("a lighthouse", out_dir=tmp_path / "out").images
    by_label = {a["label"]: a["data"] for a in manifest_of(edited.path)[1]["assertions"]}
    assert by_label["org.hallmark.gb45438"]["explicit_label"]["text"] == "AI合成"
    assert by_label["org.hallmark.ca-sb942.latent-disclosure"]["disclosure"].startswith("AI-altered content")
    assert COMPOSITE.encode() in edited.path.read_bytes()  # the EU profile's XMP source type
    generated = {a["label"]: a["data"] for a in manifest_of(made.path)[1]["assertions"]}
    assert generated["org.hallmark.gb45438"]["explicit_label"]["text"] == "AI生成"
    assert generated["org.hallmark.ca-sb942.latent-disclosure"]["disclosure"].startswith(
        "AI-generated content"
    )


def test_a_hallmark_image_whose_policy_allows_inference_is_edited_and_linked_to_its_record(
    keyed_home: Path, tmp_path: Path
) -> None:
    def render(prompt: str, n: int, width: int, height: int) -> list[Image.Image]:
        return [photo(width).resize((width, height)) for _ in range(n)]

    allowing = tmp_path / "allow.yaml"
    allowing.write_text("id: t\nextends: default\nc2pa:\n  training_mining: allowed\n")
    with GuardedPipeline(render, home=keyed_home, editor=redraw, policy=str(allowing)) as pipe:
        (parent,) = pipe("a portrait", out_dir=tmp_path / "out").images
        (child,) = pipe.edit(parent.path, "make it night", out_dir=tmp_path / "out").images
    entry = entries(keyed_home)[-1]
    assert entry.data["input"]["parent_record"] == parent.record_id
    assert entry.data["input"]["credentials"]["verdict"] == "hallmark-signed"
    assert child.payload != parent.payload  # a new record, a new watermark payload
    _, manifest = manifest_of(child.path)
    (policy,) = [a["data"] for a in manifest["assertions"] if a["label"] == "org.hallmark.policy"]
    assert policy["record_id"] == child.record_id and policy["input"]["parent_record"] == parent.record_id
    chain = verify_image(child.path).check("chain")
    assert (
        chain is not None and f"from an image (hallmark record {parent.record_id}) signed by" in chain.summary
    )


def test_an_input_over_the_side_limit_is_refused(keyed_home: Path, tmp_path: Path) -> None:
    with GuardedPipeline(redraw, home=keyed_home, editor=redraw) as pipe:
        with pytest.raises(InputError, match="edits take 64 to 4096 px a side"):
            pipe.edit(Image.new("RGB", (4104, 64)), "make it night", out_dir=tmp_path / "out")


def test_the_tiny_model_inpaints_inside_the_mask(keyed_home: Path, tmp_path: Path) -> None:
    mask = Image.new("L", (320, 320), 0)
    mask.paste(255, (64, 64, 192, 192))
    with GuardedPipeline.from_pretrained("tiny", home=keyed_home) as pipe:
        (image,) = pipe.edit(photo(), "a red umbrella", mask=mask, out_dir=tmp_path / "out", seed=1).images
    _, manifest = manifest_of(image.path)
    assert actions(manifest)[1] == {
        "action": "c2pa.edited",
        "softwareAgent": {"name": "hallmark/tiny-sd (random weights)"},
        "digitalSourceType": COMPOSITE,
    }
    assert Image.open(image.path).size == (320, 320)


def test_the_generative_training_entry_refuses_only_when_the_policy_says_so(
    keyed_home: Path, tmp_path: Path
) -> None:
    src = signed_input(keyed_home, tmp_path, training={"cawg.ai_generative_training": {"use": "notAllowed"}})
    with GuardedPipeline(redraw, home=keyed_home, editor=redraw) as pipe:
        assert pipe.edit(src, "make it night", out_dir=tmp_path / "out").images
    honour = tmp_path / "honour.yaml"
    honour.write_text(
        "id: t\nextends: default\nedit:\n  input:\n    refuse_not_allowed: [ai_inference, ai_generative_training]\n"
    )
    with GuardedPipeline(redraw, home=keyed_home, editor=redraw, policy=str(honour)) as pipe:
        refused = pipe.edit(src, "make it night", out_dir=tmp_path / "out")
    assert refused.blocked
    assert "edit.input.cawg.training-mining.ai_generative_training" in [
        f.rule_id for f in refused.decision.findings
    ]


def test_an_input_whose_credentials_cannot_be_checked_is_refused(
    keyed_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    # A verification that ends in an error (here: the report for an empty file).
    broken = SimpleNamespace(verify=lambda data: verify_image(b""))
    monkeypatch.setattr("hallmark.pipeline._edit.input_verifier", lambda pipe: broken)
    with GuardedPipeline(redraw, home=keyed_home, editor=redraw) as pipe:
        result = pipe.edit(photo(), "make it night", out_dir=tmp_path / "out")
    assert result.blocked and "edit.input.not_checked" in [f.rule_id for f in result.decision.findings]
    assert entries(keyed_home)[0].data["input"]["credentials"]["verdict"] == "error"
