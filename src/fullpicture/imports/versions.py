"""Versions in one batch: which rows the batch meets first, which of those the database holds
already, and whether each is new, changed or unchanged (counted as it goes)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from fullpicture.imports import repository
from fullpicture.imports.bulk import BulkWriter
from fullpicture.imports.checked import Key
from fullpicture.imports.schemas import TableCounts


@dataclass(slots=True)
class Seen:
    """What the batch did with the first valid row of each (agency, ref) of one table.

    Dicts keyed alike rather than an object per key: a large feed meets millions of keys."""

    digest: dict[Key, str] = field(default_factory=dict)
    outcome: dict[Key, str] = field(default_factory=dict)  # new, changed or unchanged
    repeats: dict[Key, int] = field(default_factory=dict)  # only keys sent more than once

    def forget(self, key: Key) -> tuple[str, int] | None:
        """Drop a key; its outcome and repeats, if it was seen."""
        if self.digest.pop(key, None) is None:
            return None
        return self.outcome.pop(key), self.repeats.pop(key, 0)


@dataclass
class VersionLedger:
    """What the batch has done with each key of each table, and the versions it writes."""

    db_session: Session
    writer: BulkWriter
    batch_public_id: str
    counts: dict[str, TableCounts]
    seen: dict[str, Seen] = field(default_factory=dict)
    agencies_with_rows: dict[tuple[str, int], bool] = field(default_factory=dict)

    def first_sightings(
        self, table: str, keys: list[Key], digests: list[str], conflicts: set[Key]
    ) -> dict[Key, int]:
        """The keys this batch meets for the first time in this chunk, each with the index of
        its first row. A key sent again with the same content is counted as a repeat; with
        other content it joins ``conflicts`` (and is not stored at all)."""
        seen = self.seen[table]
        if not conflicts and len(set(keys)) == len(keys) and seen.digest.keys().isdisjoint(keys):
            return dict(zip(keys, range(len(keys)), strict=True))  # the usual case
        counts = self.counts[table]
        pending: dict[Key, int] = {}
        pending_repeats: dict[Key, int] = defaultdict(int)
        for index, (key, digest) in enumerate(zip(keys, digests, strict=True)):
            if key in conflicts:
                continue
            earlier_digest = seen.digest.get(key)
            if earlier_digest is None:
                first = pending.get(key)
                if first is None:
                    pending[key] = index
                elif digests[first] == digest:
                    counts.repeated += 1
                    pending_repeats[key] += 1
                else:
                    conflicts.add(key)
            elif earlier_digest == digest:
                counts.repeated += 1
                seen.repeats[key] = seen.repeats.get(key, 0) + 1
            else:
                conflicts.add(key)
        for key in [key for key in pending if key in conflicts]:
            del pending[key]
            counts.repeated -= pending_repeats.pop(key, 0)
        seen.repeats.update(pending_repeats)
        return pending

    def stored_versions(
        self, table: str, pending: dict[Key, int]
    ) -> dict[Key, repository.StoredVersion]:
        """The latest stored version of each key that the database may hold already."""
        by_agency: dict[int, list[str]] = defaultdict(list)
        for agency_id, ref in pending:
            by_agency[agency_id].append(ref)
        stored: dict[Key, repository.StoredVersion] = {}
        for agency_id, refs in by_agency.items():
            # An agency's first feed of a table needs no lookups (nor a wait for the inserts).
            if not self.agency_has_rows(table, agency_id):
                continue
            self.writer.wait()
            for ref, latest in repository.latest_versions(
                db_session=self.db_session, table=table, agency_id=agency_id, refs=refs
            ).items():
                stored[(agency_id, ref)] = latest
        return stored

    def outcomes(
        self,
        table: str,
        keys: list[Key],
        digests: list[str],
        change_reasons: list[str | None],
        stored: dict[Key, repository.StoredVersion],
    ) -> tuple[list[int], list[str | None]]:
        """For each key met for the first time: the version to write (0: nothing to write, the
        row is unchanged) and its change reason; the outcomes are counted and remembered."""
        counts = self.counts[table]
        seen = self.seen[table]
        seen.digest.update(zip(keys, digests, strict=True))
        if not stored:
            seen.outcome.update(dict.fromkeys(keys, "new"))
            counts.new += len(keys)
            return [1] * len(keys), change_reasons
        versions: list[int] = []
        reasons: list[str | None] = []
        for key, digest, reason in zip(keys, digests, change_reasons, strict=True):
            before = stored.get(key)
            if before is None:
                outcome, version = "new", 1
            elif digest in (before.content_hash, before.imported_hash):
                # The same as stored, or as the agency last sent it: a correction made here
                # since then (imports.corrections.correct_event) stands until the feed changes.
                outcome, version = "unchanged", 0
            else:
                outcome, version = "changed", before.version + 1
                reason = reason or f"changed in feed {self.batch_public_id}"
            seen.outcome[key] = outcome
            setattr(counts, outcome, getattr(counts, outcome) + 1)
            versions.append(version)
            reasons.append(reason)
        return versions, reasons

    def agency_has_rows(self, table: str, agency_id: int) -> bool:
        key = (table, agency_id)
        if key not in self.agencies_with_rows:
            self.agencies_with_rows[key] = repository.agency_has_rows(
                db_session=self.db_session, table=table, agency_id=agency_id
            )
        return self.agencies_with_rows[key]
