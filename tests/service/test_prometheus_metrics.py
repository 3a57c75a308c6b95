"""`/metrics` is Prometheus text with traffic by route and the domain counters."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sessionrec.testing.service import Service

pytestmark = pytest.mark.service


def samples(service: Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = service.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_count_requests_sessions_and_events(sqlite_service: Service) -> None:
    service = sqlite_service
    session, auth = service.new_session()
    service.client.post(
        f"/v1/sessions/{session}/events",
        json={"events": [{"item_id": "1", "type": "view"}, {"item_id": "?", "type": "view"}]},
        headers=auth,
    )
    service.client.post(f"/v1/sessions/{session}/recommendations", json={}, headers=auth)
    service.client.post(
        f"/v1/sessions/{session}/feedback", json={"item_id": "2", "kind": "like"}, headers=auth
    )
    service.client.get("/v1/sessions/nope", headers=auth)
    found = samples(service)
    route = "/v1/sessions/{session_id}"
    assert found[("sessionrec_sessions_created_total", ())] == 1
    assert found[("sessionrec_events_accepted_total", ())] == 1
    assert found[("sessionrec_events_rejected_total", ())] == 1
    assert found[("sessionrec_recommendations_total", ())] == 1
    assert found[("sessionrec_feedback_total", (("kind", "like"),))] == 1
    key = (("method", "POST"), ("route", "/v1/sessions"), ("status", "201"))
    assert found[("sessionrec_http_requests_total", key)] == 1
    key = (("method", "GET"), ("route", route), ("status", "404"))
    assert found[("sessionrec_http_requests_total", key)] == 1
    count = ("sessionrec_http_request_duration_seconds_count", (("route", route),))
    assert found[count] == 1
    assert found[("sessionrec_engine_items", ())] == 40
