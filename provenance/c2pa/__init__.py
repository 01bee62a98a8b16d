"""C2PA: keys and certificates, signing, trust anchors, the manifest store, and reading manifests."""

from ._keys import WATERMARK_KEY, KeyInfo, ensure_keys, init_keys, load_watermark_key, read_key_info
from ._read import C2paReading
from ._sign import (
    COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
    TRAINED_ALGORITHMIC_MEDIA,
    C2paSigner,
    Ingredient,
    ManifestSpec,
    SignedAsset,
    SoftBinding,
)
from ._store import ManifestStore
from ._trust import TrustAnchor, TrustConfig

__all__ = [
    "COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA",
    "TRAINED_ALGORITHMIC_MEDIA",
    "WATERMARK_KEY",
    "C2paReading",
    "C2paSigner",
    "Ingredient",
    "KeyInfo",
    "ManifestSpec",
    "ManifestStore",
    "SignedAsset",
    "SoftBinding",
    "TrustAnchor",
    "TrustConfig",
    "ensure_keys",
    "init_keys",
    "load_watermark_key",
    "read_key_info",
]
