"""What only the Redis back end promises: key layout, deletion, TTL, prefixes, outages."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from sessionrec.errors import ConfigError
from sessionrec.store import SessionNotFound, StoredEvent, StoreUnavailable, open_store
from sessionrec.store.redis import RedisStore, redact

pytestmark = pytest.mark.service


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex}:"


def test_session_keys_follow_the_documented_layout(redis_server: Any) -> None:
    prefix = unique_prefix()
    store = RedisStore.from_url(redis_server.url, prefix=prefix)
    sid = store.create_session("h")
    store.append_events(sid, [StoredEvent("1", "view", 2.5)])
    store.record_impressions(sid, ["1"])
    client = redis_server.client()
    assert client.hgetall(f"{prefix}session:{sid}")["token_hash"] == "h"
    assert client.lrange(f"{prefix}session:{sid}:events", 0, -1) == [
        '{"item_id": "1", "type": "view", "timestamp": 2.5}'
    ]
    assert client.hgetall(f"{prefix}session:{sid}:impressions") == {"1": "1"}
    store.close()


def test_delete_removes_every_key_of_the_session(redis_server: Any) -> None:
    prefix = unique_prefix()
    store = RedisStore.from_url(redis_server.url, prefix=prefix)
    sid = store.create_session("h")
    store.append_events(sid, [StoredEvent("1", "view", 1.0)])
    store.record_impressions(sid, ["1"])
    store.record_outcome("1", True)
    store.upsert_item({"item_id": "n", "title": "N"})
    client = redis_server.client()
    assert len([k for k in client.scan_iter(f"{prefix}*") if sid in k]) == 3

    assert store.delete_session(sid)

    left = sorted(client.scan_iter(f"{prefix}*"))
    assert [k for k in left if sid in k] == []
    assert left == sorted(
        f"{prefix}{k}" for k in ("outcomes:positive", "items", "items:order", "items:seq")
    )
    store.close()


def test_ttl_covers_all_session_keys_and_expires_the_session(redis_server: Any) -> None:
    prefix = unique_prefix()
    store = RedisStore.from_url(f"{redis_server.url}?prefix={prefix}&ttl=1")
    sid = store.create_session("h")
    store.append_events(sid, [StoredEvent("1", "view", 1.0)])
    store.record_impressions(sid, ["1"])
    client = redis_server.client()
    for suffix in ("", ":events", ":impressions"):
        assert 0 < client.pttl(f"{prefix}session:{sid}{suffix}") <= 1000
    time.sleep(1.2)
    assert store.token_hash(sid) is None
    with pytest.raises(SessionNotFound):
        store.events(sid)
    assert [k for k in client.scan_iter(f"{prefix}*") if sid in k] == []
    store.close()


def test_without_ttl_sessions_do_not_expire(redis_server: Any) -> None:
    prefix = unique_prefix()
    store = RedisStore.from_url(redis_server.url, prefix=prefix)
    sid = store.create_session("h")
    store.append_events(sid, [StoredEvent("1", "view", 1.0)])
    client = redis_server.client()
    assert client.ttl(f"{prefix}session:{sid}") == -1
    assert client.ttl(f"{prefix}session:{sid}:events") == -1
    store.close()


def test_prefixes_isolate_deployments(redis_server: Any) -> None:
    a = RedisStore.from_url(redis_server.url, prefix=unique_prefix())
    b = RedisStore.from_url(redis_server.url, prefix=unique_prefix())
    sid = a.create_session("h")
    a.record_outcome("x", True)
    a.upsert_item({"item_id": "x"})
    assert b.token_hash(sid) is None
    assert b.item_outcomes(["x"]) == {}
    assert b.items() == []
    a.close()
    b.close()


@pytest.mark.parametrize("options", ["ttl=0", "ttl=-5", "ttl=soon", "prefix="])
def test_bad_url_options_are_config_errors(redis_server: Any, options: str) -> None:
    with pytest.raises(ConfigError):
        open_store(f"{redis_server.url}?{options}")


def test_server_going_away_is_store_unavailable(
    redis_starter: Callable[..., Any],
) -> None:
    server = redis_starter()
    store = open_store(server.url)
    sid = store.create_session("h")
    server.kill()
    assert store.ping() is False
    port = f"127.0.0.1:{server.port}"
    with pytest.raises(StoreUnavailable, match=port):
        store.append_events(sid, [StoredEvent("1", "view", 1.0)])
    with pytest.raises(StoreUnavailable, match=port):
        store.events(sid)
    with pytest.raises(StoreUnavailable, match=port):
        store.create_session("h")
    store.close()


def test_redact_hides_the_password() -> None:
    assert redact("redis://:s3cret@host:6379/0") == "redis://:***@host:6379/0"
    assert redact("redis://user:s3cret@host/0") == "redis://user:***@host/0"
    assert redact("redis://host:6379/0") == "redis://host:6379/0"
