"""Key rotation reaches usage's alert destinations: after `keyvault.admin rotate`, retiring the old
version is refused while a destination's sealed secret is under it; `python -m
usage.alerts.rewrap` (in the usage service's environment) moves it and reports a census, after
which the old version retires and the destination still signs with its original secret.
(Retiring writes to a copy, as in test_keyvault_rotation: the shared stack keeps its keyring.)"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import requests
from keyvault.crypto import key_version_of
from pymongo import MongoClient
from support.accounts import new_account
from support.billing import upgrade
from support.keyring_admin import admin, retire, service_job
from testkit.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow  # rotates keys and runs the rewrap job on the running stack


def sealed_version(mongo_uri: str, destination_id: str) -> int:
    client: MongoClient = MongoClient(mongo_uri, tz_aware=True)
    try:
        doc = client["aicosts_usage"]["alert_destinations"].find_one({"_id": destination_id})
    finally:
        client.close()
    return key_version_of(bytes(doc["sealed"]))


def verifies(secret: str, header: str, body: bytes) -> bool:
    """What a customer's receiver does (docs/alerts.md): HMAC-SHA256 over "<t>.<body>"."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


def test_usage_rewrap_moves_destination_secrets_so_the_old_version_can_retire(
    stack, mongo_uri, stripe_fake, tmp_path
):
    account = new_account(stack)
    upgrade(stack, stripe_fake, account)  # webhooks are Professional
    with WebhookReceiver() as receiver:
        created = requests.post(
            f"{stack.base_url}/v1/alert-destinations",
            json={"kind": "webhook", "name": "ops", "url": receiver.url},
            headers=account.headers,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        destination_id = created.json()["destination"]["id"]
        signing_secret = created.json()["signing_secret"]
        old_version = json.loads(admin(stack, mongo_uri, "status", "--json").stdout)["current_version"]
        assert sealed_version(mongo_uri, destination_id) == old_version

        admin(stack, mongo_uri, "rotate")
        # Everything else that may be under the old version moves first, so what is left is ours.
        admin(stack, mongo_uri, "rewrap")
        auth_job = service_job(stack, "auth.rewrap")
        assert auth_job.returncode == 0, auth_job.stdout + auth_job.stderr
        copy = str(tmp_path / "keyring.json")
        refused = retire(stack, mongo_uri, old_version, copy)
        assert refused.returncode != 0 and "usage/alert_destination" in refused.stderr, (
            refused.stdout + refused.stderr
        )

        moved = service_job(stack, "usage.alerts.rewrap")
        output = moved.stdout + moved.stderr
        assert moved.returncode == 0, output
        assert "failed 0" in moved.stdout and f"version {old_version + 1}: " in moved.stdout, output
        assert signing_secret not in output and receiver.url not in output
        assert sealed_version(mongo_uri, destination_id) == old_version + 1

        retired = retire(stack, mongo_uri, old_version, copy)
        assert retired.returncode == 0, retired.stdout + retired.stderr

        # The moved secret still opens: a test message is signed with the original secret.
        tested = requests.post(
            f"{stack.base_url}/v1/alert-destinations/{destination_id}/test",
            headers=account.headers,
            timeout=60,
        )
        assert tested.status_code == 200 and tested.json()["delivery"]["status"] == "delivered", tested.text
        [hook] = receiver.wait_for(1, timeout_s=30)
        assert verifies(signing_secret, hook.headers["AICosts-Signature"], hook.body)
        assert not verifies("whsec_wrong", hook.headers["AICosts-Signature"], hook.body)

    # Leave the shared stack's ledger as we found it: the destination goes, and a new census
    # stops counting it under the new version (a later rotation there may retire that one).
    deleted = requests.delete(
        f"{stack.base_url}/v1/alert-destinations/{destination_id}", headers=account.headers, timeout=30
    )
    assert deleted.status_code == 204, deleted.text
    again = service_job(stack, "usage.alerts.rewrap")
    assert again.returncode == 0 and "failed 0" in again.stdout, again.stdout + again.stderr
