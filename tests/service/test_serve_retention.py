"""`sessionrec serve --retention-days`: the service sweeps inactive sessions from its store."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sessionrec.cli import app
from sessionrec.errors import ConfigError
from sessionrec.service.app import create_app
from sessionrec.service.settings import ENV_RETENTION_DAYS, ServiceSettings
from sessionrec.store import open_store
from sessionrec.store.retention import DAY_SECONDS

pytestmark = pytest.mark.service


def test_the_service_sweeps_at_start_and_keeps_the_sessions_it_serves(
    tiny_artifact: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    with open_store(url) as store:
        stale = store.create_session("h")
    time.sleep(0.5)
    # Half a second of retention: the stale session is past it when the service starts;
    # the next sweep is an hour away, so sessions made now stay.
    settings = ServiceSettings(
        artifact=tiny_artifact, store_url=url, retention_days=0.4 / DAY_SECONDS
    )
    with caplog.at_level("INFO", logger="sessionrec"), TestClient(create_app(settings)) as client:
        created = client.post("/v1/sessions")
        assert created.status_code == 201
        fresh = created.json()["session_id"]
        with open_store(url) as store:
            deadline = time.monotonic() + 10
            while stale in store.session_ids() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert store.session_ids() == [fresh]
        headers = {"Authorization": f"Bearer {created.json()['token']}"}
        assert client.get(f"/v1/sessions/{fresh}", headers=headers).status_code == 200
    assert "retention: deleted 1 session inactive for more than" in caplog.text


def test_retention_travels_to_worker_processes_and_is_checked() -> None:
    settings = ServiceSettings(retention_days=30.0)
    env = settings.to_env()
    assert env[ENV_RETENTION_DAYS] == "30.0"
    assert ServiceSettings.from_env(env).retention_days == 30.0
    assert ServiceSettings.from_env({}).retention_days is None
    assert ENV_RETENTION_DAYS not in ServiceSettings().to_env()
    with pytest.raises(ConfigError, match="SESSIONREC_RETENTION_DAYS must be a number"):
        ServiceSettings.from_env({ENV_RETENTION_DAYS: "a month"})
    with pytest.raises(ConfigError, match="positive number of days"):
        ServiceSettings(retention_days=0)


def test_serve_refuses_a_retention_that_is_not_positive(tiny_artifact: Path) -> None:
    result = CliRunner().invoke(
        app, ["serve", "--artifact", str(tiny_artifact), "--retention-days", "-3"]
    )
    assert result.exit_code == 2
    assert "--retention-days" in result.stderr and "positive number of days" in result.stderr
