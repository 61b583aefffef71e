"""The auth service's MongoDB collections: the only pymongo code of the service."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.database import Database

from auth.store.accounts import AccountStore
from auth.store.alert_emails import AlertEmailLog
from auth.store.counters import FailureCounter
from auth.store.sessions import SessionStore
from auth.store.throttle import ThrottleStore
from auth.store.tokens import OneTimeTokenStore


@dataclass(frozen=True)
class Stores:
    accounts: AccountStore
    sessions: SessionStore
    tokens: OneTimeTokenStore
    failures: FailureCounter
    throttles: ThrottleStore
    alert_emails: AlertEmailLog

    @classmethod
    def of(cls, db: Database) -> Stores:
        return cls(
            accounts=AccountStore(db),
            sessions=SessionStore(db),
            tokens=OneTimeTokenStore(db),
            failures=FailureCounter(db),
            throttles=ThrottleStore(db),
            alert_emails=AlertEmailLog(db),
        )

    def ensure_indexes(self) -> None:
        stores = (self.accounts, self.sessions, self.tokens, self.failures, self.throttles, self.alert_emails)
        for store in stores:
            store.ensure_indexes()
