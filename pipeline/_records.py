"""Records: identifiers (UUIDv7, RFC 9562, time-ordered so that the audit log sorts by them) and
the part of an audit entry that one request's images share."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hallmark.guardrails import ImageVerdict, PromptDecision
    from hallmark.policies import Policy
    from hallmark.provenance import LabelContext

    from ._generators import GenerationParams


def new_record_id(
    *, now: datetime | None = None, randbits: Callable[[int], int] = secrets.randbits
) -> uuid.UUID:
    """A UUIDv7: 48 bits of Unix milliseconds, then 74 random bits."""
    moment = now or datetime.now(UTC)
    ms = int(moment.timestamp() * 1000) & ((1 << 48) - 1)
    value = (ms << 80) | (0x7 << 76) | (randbits(12) << 64) | (0b10 << 62) | randbits(62)
    return uuid.UUID(int=value)


def request_record(
    policy: Policy, model: str, decision: PromptDecision, *, params: GenerationParams | None, request_id: str
) -> dict[str, Any]:
    """The part of an audit entry that every image of one request shares: the request id, the
    policy, the model, the prompt decision (without the redacted prompt, which is personal data
    and lives apart) and the generation parameters."""
    data: dict[str, Any] = {
        "request_id": request_id,
        "policy": policy.summary(),
        "model": model,
        "decisions": {"prompt": decision.to_dict(redact=True)},
    }
    data["decisions"]["prompt"].pop("redacted_prompt", None)  # personal data lives apart
    if params is not None:
        data["seed"] = params.seed
        data["params"] = {
            "n": params.n,
            "width": params.width,
            "height": params.height,
            "steps": params.steps,
            "guidance_scale": params.guidance_scale,
            "negative_prompt_added": bool(params.negative_prompt),
        }
    return data


def policy_assertion(
    policy: Policy,
    *,
    record_id: str,
    audit_origin: str,
    verdict: ImageVerdict | None,
    stages: dict[str, str],
    edit_input: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest's ``org.hallmark.policy`` assertion: which policy decided, where the record
    lives, what the image check said and what each stage did (never the prompt)."""
    out: dict[str, Any] = {
        "policy": policy.summary(),
        "record_id": record_id,
        "audit_log": audit_origin,
        "image_decision": verdict.action.value if verdict else None,
        "image_check": verdict.state.value if verdict else None,
        # Categories no backend looked at: an allowed image was not judged on them.
        "image_not_checked": list(verdict.not_checked) if verdict else None,
        "stages": dict(stages),
    }
    if edit_input is not None:  # an edit: the input's hash, credentials verdict and parent record
        out["input"] = dict(edit_input)
    return out


def label_context(
    policy: Policy, model: str, record_id: uuid.UUID, *, source_type: str | None = None
) -> LabelContext:
    """What the regulation labels say of one image: its record, when it was made (the UUIDv7's
    milliseconds), the provider, and the system and model that made it; ``source_type`` (the
    IPTC digital source type of an edit) marks an edited image."""
    from hallmark import __version__
    from hallmark.provenance import LabelContext

    return LabelContext(
        record_id=str(record_id),
        created=datetime.fromtimestamp((record_id.int >> 80) / 1000, tz=UTC),
        provider=policy.labels.provider,
        model=model,
        system_name="hallmark",
        system_version=__version__,
        edited=source_type is not None,
        **({"digital_source_type": source_type} if source_type else {}),
    )
