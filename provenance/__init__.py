"""Mark and read marks: watermarks, C2PA, regulatory labels, keys, found-image verification."""

from provenance._c2pa_sign import C2paSigner, ManifestSpec, SignedAsset, SoftBinding
from provenance._keys import KeyInfo, ensure_keys, init_keys, load_watermark_key, read_key_info
from provenance._labels import (
    ComplianceRow,
    LabelContext,
    Labeler,
    LabelReading,
    RegulationProfile,
    check_compliance,
    read_labels,
)
from provenance._manifest_store import ManifestStore
from provenance._trust import TrustAnchor, TrustConfig
from provenance._types import WatermarkReading, WatermarkScheme, payload_for_record
from provenance._verify import (
    VERDICTS,
    Check,
    CheckStatus,
    ImageInfo,
    Verdict,
    VerificationReport,
    audit_summary,
    verify_image,
)
from provenance._verify_batch import collect_images, verify_batch
from provenance._verify_c2pa import C2paReading
from provenance._watermark_registry import watermark_scheme, watermark_schemes
from provenance._watermark_thirdparty import detect_third_party

__all__ = [
    "C2paSigner",
    "KeyInfo",
    "ManifestSpec",
    "ManifestStore",
    "ComplianceRow",
    "LabelContext",
    "LabelReading",
    "Labeler",
    "RegulationProfile",
    "check_compliance",
    "read_labels",
    "SignedAsset",
    "SoftBinding",
    "ensure_keys",
    "init_keys",
    "load_watermark_key",
    "read_key_info",
    "WatermarkReading",
    "WatermarkScheme",
    "payload_for_record",
    "detect_third_party",
    "watermark_scheme",
    "watermark_schemes",
    # found-image verification
    "C2paReading",
    "Check",
    "CheckStatus",
    "ImageInfo",
    "TrustAnchor",
    "TrustConfig",
    "VERDICTS",
    "VerificationReport",
    "Verdict",
    "audit_summary",
    "collect_images",
    "verify_batch",
    "verify_image",
]
