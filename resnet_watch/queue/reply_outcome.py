"""A worker's successful reply as the local pipeline's ``Classified`` outcome.

The watcher writes sidecars from replies through the same sink as the local pipeline,
so a reply must become the record the pipeline would have made: the labels, the size
and format the worker decoded, and the feature vector only when the model that made it
is the model the reply names (a vector from another model would mislead custom classes
and dupes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from resnet_watch.embedding import decode
from resnet_watch.outcomes import Classified
from resnet_watch.queue.task import Reply

__all__ = ["classified_from", "reply_features"]


def classified_from(reply: Reply) -> Classified:
    """The ``Classified`` outcome for an ``ok`` reply."""
    return Classified(
        Path(reply.path),
        reply.facts,
        reply.width,
        reply.height,
        reply.format,
        list(reply.labels),
        reply.elapsed_ms,
        features=reply_features(reply),
    )


def reply_features(reply: Reply) -> npt.NDArray[np.float32] | None:
    """The worker's feature vector, when it sent one made by the model it names."""
    stored = decode(reply.embedding)
    if stored is None or reply.model is None:
        return None
    return stored.vector if stored.matches(reply.model.name, reply.model.weights_sha256) else None
