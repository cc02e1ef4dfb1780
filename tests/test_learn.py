"""learn: example folders in, a head out; evaluation arithmetic; real photos end to end."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from resnet_watch.errors import HeadError
from resnet_watch.heads import train_head
from resnet_watch.learn import embed_paths, evaluate_head, example_folders, score_predictions
from resnet_watch.models.photos import agreement_photos, ai_benchmark_photos
from tests.daemon_helpers import shipped_photo
from tests.fixtures_models import effnet_classifier

__all__ = ["effnet_classifier"]


def segmentation_cats() -> list[Path]:
    folder = ai_benchmark_photos()[0].parent.parent / "segmentation"
    return [folder / f"{i}.jpg" for i in (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15)]


def street_scenes() -> list[Path]:
    folder = ai_benchmark_photos()[0].parent.parent / "enhancement"
    return [folder / f"{i}.jpg" for i in (0, 2, 4, 5, 6, 13, 14, 15, 16, 17, 18, 20, 21, 38, 44)]


def test_example_folders_reads_classes_and_negatives(tmp_path: Path) -> None:
    """One folder per class, _none for negatives, non-images and hidden folders ignored."""
    for name in ("Rex", "Receipts", "_none", ".thumbs"):
        (tmp_path / name).mkdir()
        for i in range(3):
            (tmp_path / name / f"{i}.jpg").write_bytes(b"x")
    (tmp_path / "Rex" / "notes.txt").write_text("not a photo")
    classes, negatives = example_folders(tmp_path)
    assert sorted(classes) == ["Receipts", "Rex"] and len(classes["Rex"]) == 3
    assert len(negatives) == 3


def test_example_folders_say_what_is_wrong(tmp_path: Path) -> None:
    """No folder, no classes, or a class with one photo: a HeadError naming it."""
    with pytest.raises(HeadError, match="not a folder"):
        example_folders(tmp_path / "missing")
    with pytest.raises(HeadError, match="no class folders"):
        example_folders(tmp_path)
    (tmp_path / "Rex").mkdir()
    (tmp_path / "Rex" / "a.jpg").write_bytes(b"x")
    with pytest.raises(HeadError, match="Rex: 1 photo"):
        example_folders(tmp_path)


def test_scores_count_precision_recall_and_rejection() -> None:
    """Precision over tagged, recall over truth, rejection over _none photos."""
    truth = ["A", "A", "A", "B", "_none", "_none"]
    predicted = ["A", "A", None, "A", None, "B"]
    result = score_predictions(["A", "B"], truth, predicted)
    a, b = result.classes
    assert (a.precision, a.recall, a.support, a.predicted) == (2 / 3, 2 / 3, 3, 3)
    assert (b.precision, b.recall) == (0.0, 0.0)
    assert result.rejected == 0.5 and result.negatives == 2


def test_cats_and_streets_learned_from_ten_real_photos(effnet_classifier: Any) -> None:
    """10 cat photos, 10 street scenes and 10 _none photos train a head that tags 5 new
    ones of each right and gives no class to real photos of neither (objects, a cup)."""
    cats, streets = segmentation_cats(), street_scenes()
    vectors = {
        "Cats": embed_paths(effnet_classifier, cats, suffix=None),
        "Streets": embed_paths(effnet_classifier, streets, suffix=None),
    }
    info = effnet_classifier.info
    head, _ = train_head(
        {k: v[:10] for k, v in vectors.items()},
        model=info.name,
        weights_sha256=info.weights_sha256,
        negatives=embed_paths(effnet_classifier, ai_benchmark_photos()[40:50], suffix=None),
    )
    neither = [*ai_benchmark_photos()[7:10], shipped_photo("skimage", "data", "coffee.png")]
    held_out = {
        **{k: v[10:] for k, v in vectors.items()},
        "_none": embed_paths(effnet_classifier, neither, suffix=None),
    }
    result = evaluate_head(head, held_out)
    for row in result.classes:
        assert row.precision >= 0.8 and row.recall >= 0.8, row
    assert result.rejected >= 0.75


def test_embed_paths_reuses_a_sidecar_from_the_same_model(
    effnet_classifier: Any, tmp_path: Path
) -> None:
    """An example with this model's embedding in its sidecar is not decoded again."""
    from resnet_watch.embedding import encode
    from resnet_watch.sidecar import FileFacts, result_record, sidecar_path, write_sidecar

    photo = tmp_path / "cat.jpg"
    shutil.copy(agreement_photos()[-1], photo)
    stored = [float(i % 7) for i in range(1280)]
    import numpy as np

    record = result_record(
        FileFacts(photo.name, 1, 1),
        width=1,
        height=1,
        fmt="JPEG",
        labels=[],
        model=effnet_classifier.info,
        elapsed_ms=1,
        extra={"embedding": encode(np.array(stored, np.float32), effnet_classifier.info)},
    )
    write_sidecar(sidecar_path(photo, ".resnet-watch.json"), record)
    got = embed_paths(effnet_classifier, [photo])
    assert np.allclose(got[0], stored, atol=0.03)


def test_a_broken_example_photo_is_named(effnet_classifier: Any, tmp_path: Path) -> None:
    """A truncated JPEG among the examples stops learn with an error naming that file."""
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(ai_benchmark_photos()[0].read_bytes()[:200])
    with pytest.raises(HeadError, match=r"broken\.jpg: cannot use this photo as an example"):
        embed_paths(effnet_classifier, [ai_benchmark_photos()[1], broken], suffix=None)
