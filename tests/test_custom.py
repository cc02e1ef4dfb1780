"""Custom classes as tags and albums, from the stored embedding only."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from resnet_watch.custom import CustomTagger
from resnet_watch.heads import save_head
from tests.custom_helpers import classified_image, pattern, small_head
from tests.fakes import FAKE_INFO


def tagger_with_head() -> CustomTagger:
    tagger = CustomTagger()
    tagger.set_head(small_head())
    return tagger


def test_a_matching_photo_gets_a_custom_tag_and_album(tmp_path: Path) -> None:
    """A Rex-like embedding adds Custom/Rex and album Rex, keeping the built-in tags."""
    image, record = classified_image(tmp_path, "rex.jpg", pattern(0, seed=99))
    fields = tagger_with_head().fields(image, record)
    assert fields["tags"] == ["Other/thing", "Custom/Rex"]
    assert fields["albums"] == ["Rex"]
    assert fields["custom"]["class"] == "Rex" and fields["custom"]["score"] > 0.5


def test_none_of_the_classes_gets_no_custom_tag(tmp_path: Path) -> None:
    """An embedding unlike Rex and Receipts gets no custom class."""
    image, record = classified_image(tmp_path, "other.jpg", pattern(3, seed=5))
    fields = tagger_with_head().fields(image, record)
    assert fields["tags"] == ["Other/thing"] and fields["albums"] == []
    assert "class" not in fields["custom"]


def test_retagging_replaces_the_previous_custom_class(tmp_path: Path) -> None:
    """Applying a new head drops the old custom tag/album instead of piling them up."""
    image, record = classified_image(tmp_path, "rex.jpg", pattern(0, seed=99))
    tagger = tagger_with_head()
    record.update(tagger.fields(image, record))
    renamed = small_head()
    renamed = dataclasses.replace(renamed, classes=("Paperwork", "Max"))  # Receipts, Rex
    tagger.set_head(renamed)
    fields = tagger.fields(image, record)
    assert fields["tags"] == ["Other/thing", "Custom/Max"] and fields["albums"] == ["Max"]


def test_an_embedding_from_another_model_is_not_judged(tmp_path: Path) -> None:
    """A vector made by another model gets no class and is marked as needing the model."""
    other = dataclasses.replace(FAKE_INFO, name="resnet18", weights_sha256="9" * 64)
    image, record = classified_image(tmp_path, "rex.jpg", pattern(0, seed=99), model=other)
    fields = tagger_with_head().fields(image, record)
    assert "Custom/Rex" not in fields["tags"]
    assert fields["custom"]["needs_model"] == "resnet18"


def test_load_refuses_a_head_for_another_model(tmp_path: Path) -> None:
    """Loading a head learned with another model leaves custom classes off, with a message."""
    path = tmp_path / "head.json"
    save_head(small_head(), path)
    tagger = CustomTagger()
    status = tagger.load(path, "efficientnet_lite0", "1" * 64)
    assert not status.loaded and tagger.head is None
    assert "learned with fake-colour-test-double" in status.error
    assert "learn" in status.error
    ok = tagger.load(path, FAKE_INFO.name, FAKE_INFO.weights_sha256)
    assert ok.loaded and ok.classes == ("Receipts", "Rex")
    assert tagger.load(tmp_path / "missing.json", FAKE_INFO.name, "x").loaded is False


def test_a_class_named_like_a_built_in_album_does_not_remove_it_on_retag(tmp_path: Path) -> None:
    """Class "Cats" and the built-in album "Cats": dropping the head keeps the built-in one."""
    image, record = classified_image(tmp_path, "rex.jpg", pattern(0, seed=99))
    record["albums"] = ["Rex"]  # the built-in rules already put it in an album "Rex"
    tagger = tagger_with_head()
    record.update(tagger.fields(image, record))
    assert record["albums"] == ["Rex"] and "Custom/Rex" in record["tags"]
    tagger.set_head(None)
    fields = tagger.fields(image, record)
    assert fields["albums"] == ["Rex"] and "Custom/Rex" not in fields["tags"]


def test_album_folders_keep_custom_class_folders_at_housekeeping(tmp_path: Path) -> None:
    """A custom class's album folder of links survives the prune of unconfigured albums."""
    import dataclasses as dc

    import yaml

    from resnet_watch.config import load_config
    from resnet_watch.extras import build_extras

    albums_dir = tmp_path / "albums"
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "inbox": {"paths": [str(tmp_path / "inbox")]},
                "album_folders": {"enabled": True, "dir": str(albums_dir)},
                "sidecar": {"xmp": False},
                "log": {"file": None},
            }
        )
    )
    cfg = load_config(config, environ={})
    image, record = classified_image(tmp_path / "inbox", "rex.jpg", pattern(0, seed=99))
    tagger = tagger_with_head()
    record.update(tagger.fields(image, record))
    _enrich, write_files, extras = build_extras(cfg)
    extras = dc.replace(extras, extra_albums=tagger.album_names)
    write_files(image, record)
    assert len(list((albums_dir / "Rex").iterdir())) == 1
    extras.prune()
    assert len(list((albums_dir / "Rex").iterdir())) == 1
