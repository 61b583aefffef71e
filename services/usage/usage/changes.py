"""What usage's reconciler (usage.reconciler) reads: the owners' change feeds, as plain values,
and where it keeps how far it has read. No gRPC, no database here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

Position = tuple[dt.datetime, str]  # (change time, id): the last change a feed has been read to


@dataclass(frozen=True)
class CredentialChange:
    """A key keyvault stored, or deleted (then only its tombstone is left)."""

    credential_id: str
    account_id: str
    deleted: bool
    changed_at: dt.datetime

    @property
    def position(self) -> Position:
        return (self.changed_at, self.credential_id)


@dataclass(frozen=True)
class PlanChange:
    """An account whose plan auth changed, with the plan it has now."""

    account_id: str
    plan: str
    changed_at: dt.datetime

    @property
    def position(self) -> Position:
        return (self.changed_at, self.account_id)


C = TypeVar("C", CredentialChange, PlanChange)


class Feed(Protocol, Generic[C]):
    def after(self, position: Position | None, limit: int) -> list[C]: ...


class Cursors(Protocol):
    def load(self, name: str) -> Position | None: ...

    def save(self, name: str, position: Position) -> None: ...
