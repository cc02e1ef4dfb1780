"""Is this image a screenshot? Evidence that needs no model, plus ImageNet's hints.

ImageNet has no "screenshot" class, but screenshots give themselves away: the file names
phones and desktops give them, PNG, a screen's exact pixel size, no camera in the EXIF.
ImageNet's "web site", "menu", "monitor" labels add a hint. Each piece of evidence scores
points; a camera make/model in the EXIF vetoes (a phone photo of a screen is a photo).
Two points make a screenshot: a screenshot name alone, or PNG + a screen size, or PNG +
"web site". A 512x512 photo saved as PNG scores one point and stays a photo.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SCREENSHOTS_ALBUM", "Evidence", "screenshot_evidence", "screenshot_score"]

SCREENSHOTS_ALBUM = "Screenshots"
THRESHOLD = 2

# File-name prefixes screenshot tools use (Android, iOS, macOS, Windows, GNOME, KDE) in the
# common languages; matched case-insensitively at the start of the name.
_NAME = re.compile(
    r"^(screenshot|screen ?shot|scrnshot|capture d.écran|captura de (pantalla|tela)"
    r"|bildschirmfoto|schermafbeelding|schermata|zrzut ekranu|skärmbild|skjermbilde"
    r"|kuvakaappaus|ekran görüntüsü|snímek obrazovky|снимок экрана|скриншот"
    r"|スクリーンショット|截屏|屏幕截图|螢幕擷取畫面|스크린샷|spectacle)",
    re.IGNORECASE,
)
# Screen sizes in pixels (either orientation): desktop, laptop and phone panels, incl.
# the 2x/3x "retina" sizes phones save screenshots at.
_SCREENS = frozenset(
    {
        (640, 480), (800, 600), (1024, 768), (1152, 864), (1280, 720), (1280, 800),
        (1280, 1024), (1366, 768), (1440, 900), (1536, 864), (1600, 900), (1680, 1050),
        (1920, 1080), (1920, 1200), (2048, 1536), (2560, 1080), (2560, 1440), (2560, 1600),
        (2880, 1800), (3024, 1964), (3440, 1440), (3840, 2160), (750, 1334), (828, 1792),
        (1080, 1920), (1080, 2340), (1080, 2400), (1125, 2436), (1170, 2532), (1179, 2556),
        (1242, 2208), (1242, 2688), (1284, 2778), (1290, 2796), (1440, 2560), (1440, 3040),
        (1440, 3200), (720, 1280), (720, 1600), (1600, 2560),
    }
)  # fmt: skip
# ImageNet classes whose presence in the top labels hints at a screen capture.
_HINT_WNIDS = frozenset(
    {
        "n06359193",  # web site
        "n07565083",  # menu
        "n03782006",  # monitor
        "n04152593",  # screen, CRT screen
        "n03832673",  # notebook computer
        "n06596364",  # comic book
        "n03291819",  # envelope
        "n03598930",  # jigsaw puzzle
        "n06785654",  # crossword puzzle
    }
)
HINT_MIN_SCORE = 0.15


@dataclass(frozen=True)
class Evidence:
    score: int
    reasons: tuple[str, ...]
    camera: bool

    @property
    def is_screenshot(self) -> bool:
        return not self.camera and self.score >= THRESHOLD


def screenshot_score(
    name: str, fmt: str, width: int, height: int, labels: list[tuple[str, float]], camera: bool
) -> Evidence:
    """The evidence from facts alone (pure: tests and ``reindex`` call it directly)."""
    reasons: list[str] = []
    score = 0
    if _NAME.match(name):
        score += 2
        reasons.append("name")
    if fmt.upper() == "PNG":
        score += 1
        reasons.append("png")
    if (width, height) in _SCREENS or (height, width) in _SCREENS:
        score += 1
        reasons.append("screen_size")
    if any(wnid in _HINT_WNIDS and s >= HINT_MIN_SCORE for wnid, s in labels):
        score += 1
        reasons.append("imagenet_hint")
    if camera:
        reasons.append("camera_exif")
    return Evidence(score, tuple(reasons), camera)


def has_camera_exif(image: Path) -> bool:
    """True when the file's EXIF names a camera make or model (reads the header only)."""
    from PIL import Image

    try:
        with Image.open(image) as im:
            exif = im.getexif()
            return bool(str(exif.get(0x010F, "")).strip() or str(exif.get(0x0110, "")).strip())
    except Exception:  # unreadable EXIF is no evidence either way
        return False


def screenshot_evidence(image: Path, record: Mapping[str, Any]) -> Evidence:
    """The evidence for one classified image, from its sidecar record and EXIF header."""
    info = record.get("image") or {}
    name = str((record.get("file") or {}).get("name") or image.name)
    labels = [(str(x.get("wnid")), float(x.get("score", 0))) for x in record.get("labels") or []]
    return screenshot_score(
        name,
        str(info.get("format") or ""),
        int(info.get("width") or 0),
        int(info.get("height") or 0),
        labels,
        has_camera_exif(image),
    )
