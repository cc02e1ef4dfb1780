"""learn --apply: the library re-tagged from stored embeddings, no image touched."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from resnet_watch.custom import CustomTagger
from resnet_watch.relabel import relabel_library
from resnet_watch.sidecar import read_sidecar, sidecar_path
from tests.custom_helpers import classified_image, pattern, small_head
from tests.fakes import FAKE_INFO

SUFFIX = ".resnet-watch.json"


def test_apply_tags_matching_sidecars_and_lists_what_needs_the_model(tmp_path: Path) -> None:
    """Rex-like sidecars get Custom/Rex; foreign or missing embeddings are listed; images
    keep their bytes; progress is reported per image."""
    other = dataclasses.replace(FAKE_INFO, name="resnet18", weights_sha256="9" * 64)
    rex, _ = classified_image(tmp_path, "rex.jpg", pattern(0, seed=50))
    plain, _ = classified_image(tmp_path, "plain.jpg", pattern(3, seed=51))
    foreign, _ = classified_image(tmp_path, "foreign.jpg", pattern(0, seed=52), model=other)
    old, _ = classified_image(tmp_path, "old.jpg", None)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (rex, plain, foreign, old)}
    tagger = CustomTagger()
    tagger.set_head(small_head())
    seen: list[int] = []
    report = relabel_library([tmp_path], SUFFIX, tagger, progress=seen.append)
    assert report.seen == 4 and seen == [1, 2, 3, 4]
    assert report.needs_model == [foreign] and report.no_embedding == [old]
    record = read_sidecar(sidecar_path(rex, SUFFIX))
    assert record is not None and "Custom/Rex" in record["tags"] and "Rex" in record["albums"]
    plain_record = read_sidecar(sidecar_path(plain, SUFFIX))
    assert plain_record is not None and "Rex" not in plain_record["albums"]
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in before}
    assert after == before


def test_a_second_apply_changes_nothing(tmp_path: Path) -> None:
    """Re-applying the same head rewrites no sidecar."""
    classified_image(tmp_path, "rex.jpg", pattern(0, seed=50))
    tagger = CustomTagger()
    tagger.set_head(small_head())
    assert relabel_library([tmp_path], SUFFIX, tagger).updated == 1
    again = relabel_library([tmp_path], SUFFIX, tagger)
    assert again.updated == 0 and again.seen == 1 and again.per_second > 0
