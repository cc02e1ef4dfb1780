"""Custom classes and the Screenshots album as sidecar fields, from what a sidecar holds.

One function, ``CustomTagger.fields(image, record)``, serves both the daemon (a fresh
record, just before it is written) and ``learn --apply``/``reindex`` (a stored record):
it reads the stored embedding, never the pixels, so re-tagging a library needs no model.
Custom classes become tags ``<tag_group>/<Class>`` and albums ``<Class>``; they go into the
same ``tags``/``albums`` lists the built-in albums use, so XMP keywords and album folders
follow without a second code path. ``custom`` in the sidecar records which head decided.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_watch.embedding import decode
from resnet_watch.errors import HeadError
from resnet_watch.head_input import labels_from_record
from resnet_watch.heads import Head, load_head
from resnet_watch.screenshots import SCREENSHOTS_ALBUM, screenshot_evidence

__all__ = ["CustomTagger", "HeadStatus"]


@dataclass(frozen=True)
class HeadStatus:
    """What ``load`` found, for the log and the web UI."""

    path: str
    loaded: bool
    classes: tuple[str, ...] = ()
    error: str = ""


class CustomTagger:
    """The current head (swapped atomically on SIGHUP) and the screenshot rule."""

    def __init__(self, *, tag_group: str = "Custom", screenshots: bool = True) -> None:
        self._head: Head | None = None
        self._lock = threading.Lock()
        self.tag_group = tag_group
        self.screenshots = screenshots

    @property
    def head(self) -> Head | None:
        return self._head

    def load(self, path: Path | None, model: str, weights_sha256: str) -> HeadStatus:
        """Load (or drop) the head; a head for another model is refused and none is used."""
        if path is None or not path.exists():
            with self._lock:
                self._head = None
            return HeadStatus(str(path), False)
        try:
            head = load_head(path)
            head.check_model(model, weights_sha256, source=f"custom head {path}")
        except HeadError as exc:
            with self._lock:
                self._head = None
            return HeadStatus(str(path), False, error=str(exc))
        with self._lock:
            self._head = head
        return HeadStatus(str(path), True, head.classes)

    def album_names(self) -> tuple[str, ...]:
        """The albums this tagger can assign (album folders keep these)."""
        head = self._head
        names = head.classes if head is not None else ()
        return (*names, SCREENSHOTS_ALBUM) if self.screenshots else names

    def set_head(self, head: Head | None) -> None:
        with self._lock:
            self._head = head

    def fields(self, image: Path, record: Mapping[str, Any]) -> dict[str, Any]:
        """``tags``, ``albums`` and ``custom`` for a result record, replacing earlier ones."""
        head = self._head
        custom_before = record.get("custom") or {}
        old_albums = set(custom_before.get("albums") or [])
        prefix = f"{self.tag_group}/"
        tags = [str(t) for t in record.get("tags") or [] if not str(t).startswith(prefix)]
        albums = [str(a) for a in record.get("albums") or [] if str(a) not in old_albums]
        custom: dict[str, Any] = {"albums": []}
        match = None
        embedding = decode(record.get("embedding"))
        if head is not None and embedding is not None:
            if embedding.matches(head.model, head.weights_sha256):
                match = head.match(embedding.vector, labels_from_record(record))
                custom["head_created_at"] = head.created_at
            else:
                custom["needs_model"] = embedding.model
        if match is not None:
            tags.append(prefix + match.name)
            custom.update({"class": match.name, "score": round(match.score, 4)})
            custom["albums"].append(match.name)
        if self.screenshots:
            evidence = screenshot_evidence(image, record)
            if evidence.is_screenshot:
                tags.append(f"{prefix}{SCREENSHOTS_ALBUM}")
                custom["albums"].append(SCREENSHOTS_ALBUM)
                custom["screenshot"] = list(evidence.reasons)
        # record only the albums this step added, so a re-tag removes exactly those (a class
        # may share its name with a built-in album: "Cats")
        custom["albums"] = [a for a in dict.fromkeys(custom["albums"]) if a not in albums]
        albums.extend(custom["albums"])
        return {"tags": tags, "albums": albums, "custom": custom}
