"""What only the Redis back end promises: key layout, deletion, TTL, prefixes, outages."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from sessionrec.errors import ConfigError
from sessionrec.store import SessionNotFound, StoredEvent, StoreUnavailable, open_store
from sessionrec.store.redis import TTL_PRUNE_MARGIN_S, RedisStore, redact

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
        f"{prefix}{k}"
        for k in ("outcomes:positive", "items", "items:order", "items:seq", "sessions:indexed")
    )
    assert client.zscore(f"{prefix}sessions:active", sid) is None
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
    assert store.last_active(sid) is None
    with pytest.raises(SessionNotFound):
        store.events(sid)
    assert [k for k in client.scan_iter(f"{prefix}*") if sid in k] == []
    # The expired session's member of the activity set is dropped when it is seen.
    assert client.zscore(f"{prefix}sessions:active", sid) is not None
    assert store.session_ids() == []
    assert client.zscore(f"{prefix}sessions:active", sid) is None
    store.close()


def test_an_expired_session_counts_for_no_sweep(redis_server: Any) -> None:
    prefix = unique_prefix()
    store = RedisStore.from_url(f"{redis_server.url}?prefix={prefix}&ttl=1")
    store.create_session("h")
    time.sleep(1.2)
    assert store.delete_inactive(time.time()) == 0
    assert redis_server.client().exists(f"{prefix}sessions:active") == 0
    store.close()


def test_members_long_past_the_ttl_are_pruned_at_the_next_creation(redis_server: Any) -> None:
    prefix = unique_prefix()
    client = redis_server.client()
    active = f"{prefix}sessions:active"
    store = RedisStore.from_url(f"{redis_server.url}?prefix={prefix}&ttl=60")
    client.zadd(active, {"long-gone": time.time() - 60 - TTL_PRUNE_MARGIN_S - 5})
    client.zadd(active, {"within-margin": time.time() - 60})
    sid = store.create_session("h")
    assert set(client.zrange(active, 0, -1)) == {"within-margin", sid}
    store.close()


def test_sessions_written_before_the_activity_set_are_indexed_once(redis_server: Any) -> None:
    """A store written by a sessionrec without `sessions:active`: the first process that
    opens it adds its sessions, scored by their creation, so they are listed and swept."""
    prefix = unique_prefix()
    client = redis_server.client()
    old = RedisStore.from_url(redis_server.url, prefix=prefix)
    ids = [old.create_session("h") for _ in range(3)]
    old.append_events(ids[0], [StoredEvent("1", "view", 1.0)])
    old.record_impressions(ids[1], ["1"])
    old.close()
    client.delete(f"{prefix}sessions:active", f"{prefix}sessions:indexed")  # as before

    store = RedisStore.from_url(redis_server.url, prefix=prefix)
    assert store.session_ids() == ids
    created = float(client.hget(f"{prefix}session:{ids[0]}", "created"))
    assert store.last_active(ids[0]) == created
    assert client.get(f"{prefix}sessions:indexed") == "1"
    assert store.delete_inactive(time.time()) == 3
    store.close()


def test_a_prefix_with_glob_characters_indexes_only_its_own_sessions(redis_server: Any) -> None:
    base = f"t{uuid.uuid4().hex}"
    client = redis_server.client()
    mine = RedisStore.from_url(redis_server.url, prefix=f"{base}[x]*:")
    theirs = RedisStore.from_url(redis_server.url, prefix=f"{base}x-other:")
    sid = mine.create_session("h")
    theirs.create_session("h")
    client.delete(f"{base}[x]*:sessions:active", f"{base}[x]*:sessions:indexed")
    again = RedisStore.from_url(redis_server.url, prefix=f"{base}[x]*:")
    assert again.session_ids() == [sid]
    for store in (mine, theirs, again):
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
