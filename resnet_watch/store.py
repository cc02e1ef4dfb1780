"""Sidecars as the daemon's only state: the pipeline's gate and sink.

``gate`` reads an image's sidecar and asks ``policy.decide`` whether to work
on it; ``sink`` writes the result or failure record and logs one event per
image. Keeping state in the sidecars (no database) means a restart, a
``kill -9`` or a copied folder all resume correctly.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_watch import pairs
from resnet_watch.embedding import encode
from resnet_watch.errors import SidecarError
from resnet_watch.index import FileIndex
from resnet_watch.models.spec import Label, ModelInfo
from resnet_watch.outcomes import Classified, Failed, Outcome, Skipped
from resnet_watch.policy import Decision, decide, plan_retry
from resnet_watch.sidecar import (
    FileFacts,
    failure_record,
    read_sidecar,
    result_record,
    sidecar_path,
    write_sidecar,
)

__all__ = [
    "PAIR_RECHECK_SECONDS",
    "PAIR_WAIT_SECONDS",
    "Customize",
    "Enricher",
    "SidecarStore",
    "StoreSettings",
]

# A RAW whose JPEG partner has no sidecar yet waits for it, rechecking this often, unless
# the JPEG is older than PAIR_WAIT_SECONDS (then it is not coming: the RAW goes alone).
PAIR_RECHECK_SECONDS = 2.0
PAIR_WAIT_SECONDS = 600.0

# Adds fields (tags, albums) to a result record before it is written.
Enricher = Callable[[list[Label]], Mapping[str, Any]]
# Writes what goes beside the JSON sidecar (XMP, album links) just before it; errors are
# logged and do not stop the JSON sidecar.
WriteExtras = Callable[[Path, Mapping[str, Any]], None]
# Fields (custom-class tags/albums) computed from a finished record and its image; the
# same function re-tags stored records, so it reads only what the record holds.
Customize = Callable[[Path, Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True)
class StoreSettings:
    suffix: str = ".resnet-watch.json"
    retries: int = 3
    backoff_seconds: float = 10.0
    reclassify_on_model_change: bool = True
    keep_embeddings: bool = True  # the feature vector in each sidecar (custom classes, dupes)


class SidecarStore:
    """Decides from sidecars what to process and records every outcome in one."""

    def __init__(
        self,
        settings: StoreSettings,
        model: ModelInfo,
        log: Any,
        *,
        enrich: Enricher | None = None,
        write_extras: WriteExtras | None = None,
        customize: Customize | None = None,
        index: FileIndex | None = None,
    ) -> None:
        self._settings = settings
        self._index = index
        self._model = model
        self._log = log
        self._enrich = enrich
        self._write_extras = write_extras
        # the fields enrich adds; a result written without them is redone (policy.decide)
        self._required = ("tags", "albums") if enrich is not None else ()
        self._customize = customize
        # write failures cannot be recorded on disk; count them here (bounded)
        self._write_failures: OrderedDict[str, int] = OrderedDict()

    @property
    def settings(self) -> StoreSettings:
        return self._settings

    def update_settings(self, *, retries: int, backoff_seconds: float) -> None:
        """Apply what a SIGHUP may change; later failures are planned with the new values."""
        self._settings = dataclasses.replace(
            self._settings, retries=retries, backoff_seconds=backoff_seconds
        )

    def sidecar_for(self, image: Path) -> Path:
        return sidecar_path(image, self._settings.suffix)

    def gate(self, path: Path, facts: FileFacts) -> Decision:
        record = read_sidecar(self.sidecar_for(path))
        decision = self._decide(record, facts, self._required)
        if decision.action != "process":
            return decision
        jpeg = pairs.partner_jpeg(path)
        if jpeg is not None:
            return self._pair_decision(jpeg, decision)
        raw = pairs.partner_raw(path) if record is None else None  # a JPEG seen for the first time
        return decision if raw is None else self._late_jpeg_decision(raw, decision)

    def _decide(
        self, record: Mapping[str, Any] | None, facts: FileFacts, required: Collection[str] = ()
    ) -> Decision:
        """``policy.decide`` with this store's model and retry settings."""
        return decide(
            record,
            facts,
            self._model,
            retries=self._settings.retries,
            reclassify_on_model_change=self._settings.reclassify_on_model_change,
            required_fields=required,
        )

    def _pair_decision(self, jpeg: Path, own: Decision) -> Decision:
        """A RAW with a JPEG partner takes the JPEG's labels instead of being classified."""
        try:
            st = os.lstat(jpeg)
        except OSError:
            return own
        partner = read_sidecar(self.sidecar_for(jpeg))
        if partner is None:
            if time.time() - st.st_mtime < PAIR_WAIT_SECONDS:
                return Decision("wait", "pair_pending", PAIR_RECHECK_SECONDS)
            return own  # the JPEG is not coming (ignored, unreadable): classify the RAW
        current = self._decide(partner, FileFacts.from_stat(jpeg, st))
        if partner.get("status") == "ok" and current.action == "skip":
            return Decision("skip", "paired")
        if partner.get("status") == "failed" or current.action == "skip":
            return own  # the JPEG failed for good: the RAW's preview stands in
        return Decision("wait", "pair_pending", PAIR_RECHECK_SECONDS)

    def _late_jpeg_decision(self, raw: Path, own: Decision) -> Decision:
        """A JPEG whose RAW was classified (from its preview) before it came takes its labels."""
        try:
            st = os.lstat(raw)
        except OSError:
            return own
        partner = read_sidecar(self.sidecar_for(raw))
        if partner is None or partner.get("status") != "ok":
            return own
        if (partner.get("image") or {}).get("source") == "partner":
            return own  # the RAW took an earlier JPEG's result: classify this one afresh
        current = self._decide(partner, FileFacts.from_stat(raw, st))
        return Decision("skip", "paired") if current.action == "skip" else own

    def sink(self, outcome: Outcome) -> float | None:
        if isinstance(outcome, Classified):
            return self._record_result(outcome)
        if isinstance(outcome, Failed):
            return self._record_failure(outcome)
        return self._record_skip(outcome)

    # --- outcomes ---------------------------------------------------------------------

    def _record_result(self, out: Classified) -> float | None:
        extra = self._enriched(out)
        if out.features is not None and self._settings.keep_embeddings:
            extra["embedding"] = encode(out.features, self._model)
        pair = pairs.pair_of(out.path)
        if pair is not None:
            extra["pair"] = pairs.pair_field(*pair, classified=out.path)
        record = result_record(
            out.facts,
            width=out.width,
            height=out.height,
            fmt=out.format,
            labels=out.labels,
            model=self._model,
            elapsed_ms=out.elapsed_ms,
            extra=extra,
            source=out.source,
        )
        if self._customize is not None:
            try:
                record.update(self._customize(out.path, record))
            except Exception as exc:  # custom tags are extra: never lose the labels for them
                self._log.warning("custom_tags_failed", path=str(out.path), error=str(exc))
        self._extras(out.path, record)
        if not self._commit(out.path, record):
            return self._write_retry(out.path)
        top = out.labels[0]
        self._log.info(
            "image_classified",
            path=str(out.path),
            top1=top.name,
            score=round(top.score, 4),
            wnid=top.wnid,
            ms=round(out.elapsed_ms, 1),
            model=self._model.name,
        )
        return None

    def _enriched(self, out: Classified) -> dict[str, Any]:
        """Tags and albums for a result; a failing rule costs the extras, never the labels.

        The JSON is still written without them (``reindex`` adds them once the cause is
        fixed), and the failure is logged with its traceback.
        """
        if self._enrich is None:
            return {}
        try:
            return dict(self._enrich(out.labels))
        except Exception as exc:
            self._log.warning(
                "sidecar_extras_failed",
                path=str(out.path),
                stage="enrich",
                error=f"{type(exc).__name__}: {exc}",
                exc_info=True,
            )
            return {}

    def _record_failure(self, out: Failed) -> float | None:
        if not os.path.lexists(out.path):
            self._log.info("image_skipped", path=str(out.path), reason="vanished")
            return None
        facts = out.facts or FileFacts(out.path.name, -1, -1)
        previous = read_sidecar(self.sidecar_for(out.path))
        plan = plan_retry(
            previous,
            facts,
            out.kind,
            retries=self._settings.retries,
            backoff_seconds=self._settings.backoff_seconds,
        )
        record = failure_record(
            facts,
            kind=out.kind,
            message=out.message,
            attempts=plan.attempts,
            gave_up=plan.gave_up,
            next_retry_at=plan.next_retry_at(),
            model=self._model,
        )
        self._log.warning(
            "image_failed",
            path=str(out.path),
            kind=out.kind,
            error=out.message,
            attempts=plan.attempts,
            gave_up=plan.gave_up,
        )
        if not self._commit(out.path, record):
            return self._write_retry(out.path)
        return plan.retry_in

    def _record_skip(self, out: Skipped) -> float | None:
        if out.reason == "same_content" and out.facts is not None:
            self._refresh_facts(out.path, out.facts)
        elif out.reason == "paired" and out.facts is not None:
            return self._record_paired(out.path, out.facts)
        elif out.reason == "vanished" and self._index is not None:
            self._index.forget(out.path)
        elif self._index is not None:  # up to date / given up: index it so rescans skip it
            target = self.sidecar_for(out.path)
            record = read_sidecar(target)
            if record is not None:
                self._index_record(out.path, record, target)
        self._log.debug("image_skipped", path=str(out.path), reason=out.reason)
        return None

    def _record_paired(self, path: Path, facts: FileFacts) -> float | None:
        """``path``'s sidecar and XMP from its partner's result: one photo, one inference."""
        partner_path = pairs.partner_of(path)
        partner = read_sidecar(self.sidecar_for(partner_path)) if partner_path else None
        if partner_path is None or partner is None or partner.get("status") != "ok":
            return PAIR_RECHECK_SECONDS  # the partner changed under us: decide again
        fields = {"name": facts.name, "size": facts.size, "mtime_ns": facts.mtime_ns}
        fmt = path.suffix.lstrip(".").upper() if pairs.is_raw_name(path) else "JPEG"
        record = pairs.record_from_partner(partner, path, {**fields, "sha256": facts.sha256}, fmt)
        self._extras(path, record)
        if not self._commit(path, record):
            return self._write_retry(path)
        if partner.get("pair") != record["pair"]:  # a RAW classified before its JPEG came
            partner["pair"] = record["pair"]
            self._commit(partner_path, partner)
        self._log.info(
            "image_paired", path=str(path), partner=str(partner_path), model=self._model.name
        )
        return None

    def _refresh_facts(self, path: Path, facts: FileFacts) -> None:
        """Same bytes, new mtime (a plain ``cp``): update the sidecar so the next check is cheap."""
        record = read_sidecar(self.sidecar_for(path))
        if record is None:
            return
        record["file"] = {**record["file"], "size": facts.size, "mtime_ns": facts.mtime_ns}
        self._commit(path, record)

    def _index_record(self, image: Path, record: Mapping[str, Any], target: Path) -> None:
        """Keep the index in step; it is a cache, so a failure only costs a re-read later."""
        if self._index is None:
            return
        try:
            self._index.record(image, record, target)
        except Exception as exc:
            self._log.warning("index_update_failed", path=str(image), error=str(exc))

    # --- writing ----------------------------------------------------------------------

    def _extras(self, image: Path, record: Mapping[str, Any]) -> None:
        """XMP and album links, before the JSON: the JSON sidecar is the commit marker, so a
        crash between the two is redone at the next start instead of leaving no XMP."""
        if self._write_extras is None:
            return
        try:
            self._write_extras(image, record)
        except Exception as exc:
            self._log.warning(
                "sidecar_extras_failed",
                path=str(image),
                stage="write",
                error=f"{type(exc).__name__}: {exc}",
                exc_info=True,
            )

    def _commit(self, image: Path, record: Mapping[str, Any]) -> bool:
        """Write ``image``'s JSON sidecar, then index it; False when the write failed."""
        target = self.sidecar_for(image)
        try:
            write_sidecar(target, record)
        except SidecarError as exc:
            self._log.error("sidecar_write_failed", path=str(image), error=str(exc))
            return False
        self._write_failures.pop(str(image), None)
        self._index_record(image, record, target)
        return True

    def _write_retry(self, image: Path) -> float | None:
        key = str(image)
        attempts = self._write_failures.pop(key, 0) + 1
        self._write_failures[key] = attempts
        while len(self._write_failures) > 10_000:
            self._write_failures.popitem(last=False)
        if attempts >= self._settings.retries:
            self._log.error("sidecar_write_gave_up", path=key, attempts=attempts)
            return None
        return float(self._settings.backoff_seconds * 2 ** (attempts - 1))
