"""Which names the watcher hands on: default and user ignores, includes, our own files."""

from __future__ import annotations

from pathlib import PurePath

from resnet_watch.pathfilter import DEFAULT_IGNORE, PathFilter

IMAGES = ("*.jpg", "*.jpeg", "*.png")
ROOT = PurePath("/srv/inbox")


def candidate(f: PathFilter, rel: str) -> bool:
    return f.is_candidate(ROOT / rel, ROOT)


def test_default_ignore_patterns_hide_os_sync_and_download_junk() -> None:
    """macOS/Windows/Synology/Syncthing junk and partial downloads are never candidates."""
    f = PathFilter(include=IMAGES)
    for rel in (
        ".DS_Store",
        "._IMG_1.jpg",
        "Thumbs.db",
        "desktop.ini",
        "IMG_1.jpg.part",
        "IMG_1.jpg.crdownload",
        "IMG_1.tmp",
        "IMG_1.partial",
        "~IMG_1.jpg",
        ".hidden.jpg",
        ".stfolder/a.jpg",
        ".stversions/a.jpg",
        ".Trashes/501/a.jpg",
        "__MACOSX/album/a.jpg",
        "@eaDir/a.jpg",
        "2024/trip/@eaDir/a.jpg/SYNOPHOTO_THUMB_M.jpg",
        "2024/.cache/a.jpg",
    ):
        assert not candidate(f, rel), rel
    assert candidate(f, "2024/trip/IMG_1.jpg")


def test_user_ignore_patterns_are_added_to_the_defaults() -> None:
    """User patterns extend DEFAULT_IGNORE; they match any component, or a path if they hold /."""
    f = PathFilter(include=IMAGES, ignore=("raw", "archive/2019*"))
    assert not candidate(f, "raw/a.jpg")
    assert not candidate(f, "2024/raw/a.jpg")
    assert not candidate(f, "archive/2019-05/a.jpg")
    assert candidate(f, "archive/2020/a.jpg")
    assert not candidate(f, ".DS_Store")
    assert not candidate(f, "@eaDir/a.jpg")
    assert "@eaDir" in DEFAULT_IGNORE


def test_own_sidecars_and_temp_files_are_never_candidates() -> None:
    """Our JSON/XMP sidecars and atomic-write temp files never go back to the pipeline."""
    f = PathFilter(sidecar_suffixes=(".resnet-watch.json", ".xmp"))
    assert not candidate(f, "a.jpg.resnet-watch.json")
    assert not candidate(f, "a.resnet-watch.failed.jpg")
    assert not candidate(f, "a.xmp")
    assert not candidate(f, "A.XMP")
    assert not candidate(f, ".resnet-watch-tmp-123.jpg")
    assert candidate(f, "a.jpg")


def test_include_patterns_match_the_file_name_case_insensitively() -> None:
    """Only included names are candidates (IMG.JPG counts as *.jpg); no patterns means all."""
    f = PathFilter(include=IMAGES)
    assert candidate(f, "IMG_0001.JPG")
    assert candidate(f, "sub/dir/photo.png")
    assert not candidate(f, "notes.txt")
    assert not candidate(f, "jpg/notes.txt")
    assert candidate(PathFilter(), "notes.txt")


def test_only_paths_below_the_root_count_and_the_root_itself_may_be_hidden() -> None:
    """Components are judged below the root: a hidden root still works, outside paths don't."""
    f = PathFilter(include=IMAGES)
    hidden_root = PurePath("/home/u/.inbox")
    assert f.is_candidate(hidden_root / "a.jpg", hidden_root)
    assert not f.is_candidate(PurePath("/elsewhere/a.jpg"), ROOT)
    assert not f.is_candidate(ROOT, ROOT)
