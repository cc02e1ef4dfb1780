"""What a result sidecar gets beyond labels: tags, albums, XMP keywords, album folders.

Built once from the config; the store calls ``enrich`` before writing the JSON
sidecar and ``write_files`` just before it. ``reindex`` reuses the same two functions
on existing sidecars, so a rule change never needs the model.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_watch.album_links import prune_album_links, sync_album_links
from resnet_watch.albums import DEFAULT_ALBUMS, AlbumRule, assign, parse_album_rules
from resnet_watch.config import Config
from resnet_watch.errors import ConfigError, SidecarError
from resnet_watch.image_keywords import read_image_tags
from resnet_watch.models.spec import Label
from resnet_watch.store import Enricher, WriteExtras
from resnet_watch.taxonomy import load_taxonomy
from resnet_watch.xmp import XmpKeywords, write_xmp

__all__ = ["Extras", "album_rules", "build_extras"]


def album_rules(cfg: Config) -> tuple[AlbumRule, ...]:
    """The configured album rules (the defaults when ``albums`` is absent).

    Raises ConfigError naming ``albums`` and the album at fault.
    """
    if cfg.albums is None:
        return DEFAULT_ALBUMS
    try:
        return parse_album_rules(cfg.albums)
    except ValueError as exc:
        raise ConfigError("albums", str(exc)) from None


def _keywords(tags: list[str], albums: set[str]) -> XmpKeywords:
    """Tag paths for hierarchical fields; labels plus album names as flat keywords, so
    apps that read dc:subject (PhotoPrism, with ``xmp_photoprism_seq``) find "Dogs" too."""
    from_tags = XmpKeywords.from_tags(tags)
    leaves = tuple(dict.fromkeys((*from_tags.leaves, *sorted(albums))))
    return XmpKeywords(leaves, from_tags.paths)


@dataclass(frozen=True)
class Extras:
    """Tags/albums for labels, and the files derived from them beside an image."""

    cfg: Config
    rules: tuple[AlbumRule, ...]
    # albums made outside the rules (custom classes, Screenshots): their folders are kept
    extra_albums: Callable[[], Collection[str]] = tuple

    def enrich(self, labels: Sequence[Label]) -> Mapping[str, Any]:
        result = assign(
            [(lab.index, lab.name, lab.score) for lab in labels],
            self.rules,
            load_taxonomy(),
            label_min_score=self.cfg.tags.label_min_score,
            other_min_score=self.cfg.tags.other_min_score,
        )
        return {"tags": list(result.tags), "albums": list(result.albums)}

    def write_files(self, image: Path, record: Mapping[str, Any]) -> None:
        """XMP and album links; a refused XMP (corrupt, foreign) is reported, not fatal."""
        tags = [str(t) for t in record.get("tags") or []]
        albums = {str(a) for a in record.get("albums") or []}
        errors: list[str] = []
        if self.cfg.sidecar.xmp:
            root = self.cfg.sidecar.xmp_root
            try:
                write_xmp(
                    image,
                    _keywords(tags, albums),
                    root,
                    subject_seq=self.cfg.sidecar.xmp_photoprism_seq,
                    image=read_image_tags(image, root),
                )
            except (SidecarError, OSError, ValueError) as exc:
                errors.append(f"xmp: {exc}")
        folders = self.cfg.album_folders
        if folders.enabled:
            try:
                sync_album_links(folders.dir, image, albums, folders.mode)
            except (OSError, ValueError) as exc:
                errors.append(f"album folders: {exc}")
        if errors:
            raise SidecarError("; ".join(errors))

    def prune(self) -> int:
        """Remove album links whose original is gone (and albums no longer configured)."""
        folders = self.cfg.album_folders
        if not folders.enabled:
            return 0
        keep = {r.name for r in self.rules} | set(self.extra_albums())
        return prune_album_links(folders.dir, albums=keep)


def build_extras(cfg: Config) -> tuple[Enricher, WriteExtras, Extras]:
    """Validate the album rules and return the store's two hooks."""
    extras = Extras(cfg, album_rules(cfg))
    return extras.enrich, extras.write_files, extras
