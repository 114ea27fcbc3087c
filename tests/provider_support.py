"""What the provider modules' tests share: the recorded and documented-format samples, a small
prepared image, an HTTP answer and a quad."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from PIL import Image

from adapters.core.images import PreparedImage
from adapters.providers.base import HttpAnswer, Outcome

# what each error kind an emulator renders must read back as, for every web provider
EMULATED_ERROR_OUTCOMES = [
    ("url", Outcome.AUTH), ("auth", Outcome.AUTH), ("body", Outcome.PERMANENT), ("bad_image", Outcome.PERMANENT),
    ("quota", Outcome.QUOTA), ("rate_limit", Outcome.RATE_LIMITED), ("method", Outcome.PERMANENT),
    ("too_large", Outcome.PERMANENT), ("server", Outcome.TRANSIENT), ("unavailable", Outcome.TRANSIENT),
]
DATA = Path(__file__).resolve().parent / "data" / "provider_samples"  # every provider's samples, shipped


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def other_samples(sample: str) -> list[tuple[str, Any]]:
    """Every sample but ``sample`` (its provider's ``looks_like`` must claim none of them)."""
    return [(p.name, json.loads(p.read_text(encoding="utf-8-sig"))) for p in sorted(DATA.glob("*.json"))
            if p.name != sample]


def png(width: int = 40, height: int = 20, fmt: str = "png") -> PreparedImage:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG" if fmt == "png" else "JPEG")
    return PreparedImage("sign_1", f"sign_1.{fmt}", fmt, buffer.getvalue(), width, height, width, height)


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> HttpAnswer:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
    return HttpAnswer(status, headers or {}, data)


def quad(*xy: float) -> tuple[tuple[float, float], ...]:
    return tuple((float(xy[k]), float(xy[k + 1])) for k in range(0, len(xy), 2))
