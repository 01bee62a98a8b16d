"""The stages one policy asks for, built once from a home's keys.

``Stages.from_policy`` is the one place where a policy turns into working parts: the prompt
filter, the image classifier, the watermark scheme, the labeler, the C2PA signer, the manifest
store and the cipher for raw prompts.  A stage the policy disables is ``None``; every key and
setting is checked here, before a model loads or anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hallmark.policies import Policy

from ._home import Home

if TYPE_CHECKING:
    from hallmark.audit import PersonalCipher
    from hallmark.guardrails import ImageSafety, PromptFilter
    from hallmark.provenance import C2paSigner, Labeler, ManifestStore, WatermarkScheme


@dataclass
class Stages:
    """The working parts of one policy; ``None`` where the policy disables a stage."""

    prompt_filter: PromptFilter
    image_safety: ImageSafety | None = None
    watermark: WatermarkScheme | None = None
    labeler: Labeler | None = None
    signer: C2paSigner | None = None
    manifests: ManifestStore | None = None
    cipher: PersonalCipher | None = None

    @classmethod
    def from_policy(cls, policy: Policy, home: Home, *, signer: Any = None) -> Stages:
        """Build what ``policy`` enables with the keys of ``home``.

        ``signer`` replaces the home's C2PA signer (e.g. one whose key lives in a KMS).  Raises
        the room's error (KeyMaterialError, WatermarkError, PolicyError...) when a key or a
        setting is missing or unusable."""
        from hallmark.guardrails import ImageSafety, PromptFilter

        stages = cls(prompt_filter=PromptFilter.from_policy(policy))
        if policy.image.enabled:
            from PIL import Image

            stages.image_safety = ImageSafety.from_policy(policy)
            # Load the backend now (its instance is shared, so this costs once per process): one
            # that is not installed, such as the nudenet extra, fails here with its install
            # command, before a model loads or anything is written, not on the first image.
            stages.image_safety.classify(Image.new("RGB", (64, 64)))

        if policy.watermark.enabled:
            from hallmark.provenance import load_watermark_key, watermark_scheme

            stages.watermark = watermark_scheme(policy.watermark.scheme, key=load_watermark_key(home.keys))

        if policy.c2pa.enabled:
            from hallmark.provenance import C2paSigner, ManifestStore

            stages.signer = signer or C2paSigner.from_keys_dir(home.keys, tsa_url=policy.c2pa.tsa_url)
            if policy.c2pa.keep_manifest_store:
                stages.manifests = ManifestStore(home.manifests)

        if policy.labels.profiles:
            from hallmark.provenance import Labeler, labels_integrity_key

            stages.labeler = Labeler.from_policy(policy.labels, integrity_key=labels_integrity_key(home.keys))

        if policy.audit.store_raw_prompt:
            from hallmark.audit import PersonalCipher

            # Raw prompts are kept only when the policy asks, and then only encrypted under a
            # key the operator holds; erasing the record deletes the ciphertext too.
            stages.cipher = PersonalCipher.from_file(home.personal_key, create=True)
        return stages
