"""Helpers for the custom-class tests: sidecars with embeddings, and tiny heads."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from resnet_watch.embedding import encode
from resnet_watch.heads import Head, train_head
from resnet_watch.models.photos import ai_benchmark_photos
from resnet_watch.models.spec import ModelInfo
from resnet_watch.sidecar import FileFacts, result_record, sidecar_path, write_sidecar
from tests.fakes import FAKE_INFO


def pattern(k: int, dim: int = 48, seed: int = 0) -> np.ndarray:
    """A non-negative "activation" vector for class ``k`` (a block of 12 strong values)."""
    rng = np.random.default_rng(seed)
    v = np.abs(rng.normal(0, 0.3, dim)).astype(np.float32)
    v[k * 12 : k * 12 + 12] += 2.0
    return v


def small_head(model: ModelInfo = FAKE_INFO) -> Head:
    examples = {
        name: np.stack([pattern(k, seed=s) for s in range(8)])
        for k, name in enumerate(["Rex", "Receipts"])
    }
    head, _ = train_head(examples, model=model.name, weights_sha256=model.weights_sha256)
    return head


def classified_image(
    folder: Path,
    name: str,
    vector: np.ndarray | None,
    model: ModelInfo = FAKE_INFO,
    sha256: str = "f" * 64,
) -> tuple[Path, dict[str, Any]]:
    """A JPEG with a result sidecar holding ``vector`` (or no embedding at all)."""
    from PIL import Image

    image = folder / name
    Image.new("RGB", (64, 48), (120, 80, 40)).save(image, quality=90)
    st = image.stat()
    extra: dict[str, Any] = {"tags": ["Other/thing"], "albums": []}
    if vector is not None:
        extra["embedding"] = encode(vector, model)
    record = result_record(
        FileFacts(image.name, st.st_size, st.st_mtime_ns, sha256),
        width=64,
        height=48,
        fmt="JPEG",
        labels=[],
        model=model,
        elapsed_ms=1.0,
        extra=extra,
    )
    write_sidecar(sidecar_path(image, ".resnet-watch.json"), record)
    return image, record


def data_dir() -> Path:
    return ai_benchmark_photos()[0].parent.parent


def make_examples(root: Path) -> Path:
    """examples/Cats, examples/Streets (10 real photos each) and examples/_none (10)."""
    cats, streets = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10), (0, 2, 4, 5, 6, 13, 14, 15, 16, 17)
    picks = {
        "Cats": [data_dir() / "segmentation" / f"{i}.jpg" for i in cats],
        "Streets": [data_dir() / "enhancement" / f"{i}.jpg" for i in streets],
        "_none": ai_benchmark_photos()[40:50],
    }
    for name, photos in picks.items():
        (root / name).mkdir(parents=True)
        for photo in photos:
            shutil.copy(photo, root / name / photo.name)
    return root
