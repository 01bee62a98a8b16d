"""Mark and read marks: watermarks, C2PA, regulatory labels, keys, found-image verification."""

if __name__ != "hallmark.provenance":  # the folder sits at the repository's top level
    raise ImportError(f"import hallmark.provenance, not {__name__}")

from .c2pa import (
    C2paReading,
    C2paSigner,
    KeyInfo,
    ManifestSpec,
    ManifestStore,
    SignedAsset,
    SoftBinding,
    TrustAnchor,
    TrustConfig,
    ensure_keys,
    init_keys,
    load_watermark_key,
    read_key_info,
)
from .labels import (
    ComplianceRow,
    LabelContext,
    Labeler,
    LabelReading,
    RegulationProfile,
    check_compliance,
    read_labels,
)
from .verify import (
    VERDICTS,
    Check,
    CheckStatus,
    ImageInfo,
    Verdict,
    VerificationReport,
    audit_summary,
    collect_images,
    verify_batch,
    verify_image,
)
from .watermark import (
    WatermarkReading,
    WatermarkScheme,
    detect_third_party,
    payload_for_record,
    watermark_scheme,
    watermark_schemes,
)

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
