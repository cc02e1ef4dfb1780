"""Which root holds a path and which paths the watcher would hand on."""

from __future__ import annotations

from pathlib import Path

from resnet_watch.inbox_roots import InboxRoots
from resnet_watch.pathfilter import PathFilter

OUTER = Path("/srv/inbox")
INNER = Path("/srv/inbox/phone")
SIDECARS = (".resnet-watch.json", ".xmp")


def roots(*paths: Path, recursive: bool = True) -> InboxRoots:
    return InboxRoots(
        paths,
        PathFilter(include=("*.jpg",), sidecar_suffixes=SIDECARS),
        recursive=recursive,
        sidecar_suffix=SIDECARS[0],
    )


def test_a_path_in_nested_roots_belongs_to_the_innermost() -> None:
    """With a root inside another, the inner one owns its files, whatever the config order."""
    for given in ((OUTER, INNER), (INNER, OUTER)):
        r = roots(*given)
        assert r.root_for(INNER / "a.jpg") == INNER
        assert r.root_for(OUTER / "b.jpg") == OUTER
        assert r.root_for(Path("/srv/other/a.jpg")) is None


def test_non_recursive_roots_take_top_level_files_only() -> None:
    """recursive=False: a photo in a subfolder is not a candidate, one at the top is."""
    r = roots(OUTER, recursive=False)
    assert r.is_candidate(OUTER / "a.jpg")
    assert not r.is_candidate(OUTER / "sub" / "a.jpg")
    assert roots(OUTER).is_candidate(OUTER / "sub" / "a.jpg")


def test_a_json_sidecar_names_its_image_only_if_that_is_a_candidate() -> None:
    """a.jpg.resnet-watch.json belongs to a.jpg; a bare suffix or a non-photo has no image."""
    r = roots(OUTER)
    assert r.image_of_sidecar(OUTER / "a.jpg.resnet-watch.json") == OUTER / "a.jpg"
    assert r.image_of_sidecar(OUTER / ".resnet-watch.json") is None
    assert r.image_of_sidecar(OUTER / "notes.txt.resnet-watch.json") is None
    assert r.image_of_sidecar(OUTER / "a.jpg") is None
