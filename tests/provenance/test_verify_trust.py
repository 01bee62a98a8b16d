"""TrustConfig: anchors validated when loaded, the dev CA picked up, the network off by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallmark import provenance as P
from hallmark.errors import InputError
from hallmark.provenance import TrustConfig


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("trust") / "keys"
    P.init_keys(d)
    return d


def test_offline_settings_never_fetch() -> None:
    settings = TrustConfig.offline().c2pa_settings()
    assert settings["verify"]["remote_manifest_fetch"] is False
    assert settings["verify"]["ocsp_fetch"] is False
    assert settings["verify"]["verify_trust"] is True
    assert "trust" not in settings


def test_allow_network_turns_fetching_on() -> None:
    settings = TrustConfig(allow_network=True).c2pa_settings()
    assert settings["verify"]["remote_manifest_fetch"] is True


def test_dev_ca_and_anchor_files(keys: Path, tmp_path: Path) -> None:
    extra = tmp_path / "anchors.pem"
    extra.write_text("a comment that must not reach c2pa\n" + (keys / "ca.pem").read_text())
    cfg = TrustConfig.from_files([extra], keys_dir=keys)
    assert [a.kind for a in cfg.anchors] == ["anchor", "dev-ca"]
    assert cfg.anchors[0].fingerprint == cfg.anchors[1].fingerprint
    assert "comment" not in cfg.user_anchors_pem
    assert cfg.c2pa_settings()["trust"]["user_anchors"].count("BEGIN CERTIFICATE") == 2
    assert cfg.to_dict()["anchors"][1]["source"].endswith("ca.pem")


def test_trust_list_goes_to_trust_anchors(keys: Path) -> None:
    cfg = TrustConfig.from_files(trust_list=keys / "ca.pem")
    settings = cfg.c2pa_settings()
    assert "BEGIN CERTIFICATE" in settings["trust"]["trust_anchors"]
    assert "user_anchors" not in settings["trust"]
    assert cfg.anchors[0].kind == "trust-list"


def test_home_without_keys_is_fine(tmp_path: Path) -> None:
    assert TrustConfig.from_files(keys_dir=tmp_path / "nothing").anchors == ()


def test_equal_configs_share_a_cache_key(keys: Path) -> None:
    a = TrustConfig.from_files(keys_dir=keys)
    b = TrustConfig.from_files(keys_dir=keys)
    assert a.cache_key == b.cache_key != TrustConfig.offline().cache_key


def test_missing_trust_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        TrustConfig.from_files([tmp_path / "nope.pem"])


def test_trust_file_without_certificates(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("hello")
    with pytest.raises(InputError, match="no readable PEM certificate"):
        TrustConfig.from_files([bad])


def test_unreadable_trust_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read trust file"):
        TrustConfig.from_files([tmp_path])  # a folder: IsADirectoryError is an OSError


def test_anchors_make_a_valid_signature_trusted(keys: Path) -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buf, "PNG")
    with P.C2paSigner.from_keys_dir(keys) as signer:
        signed = signer.sign(
            buf.getvalue(), mime="image/png", manifest=P.ManifestSpec(title="t", software_agent="m")
        )
    assert P.verify_image(signed.data, schemes=[]).c2pa.state == "Valid"
    assert (
        P.verify_image(signed.data, schemes=[], trust=TrustConfig.from_files([keys / "ca.pem"])).c2pa.state
        == "Trusted"
    )
    assert (
        P.verify_image(
            signed.data, schemes=[], trust=TrustConfig.from_files(trust_list=keys / "ca.pem")
        ).c2pa.state
        == "Trusted"
    )
