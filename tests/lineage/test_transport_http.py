"""Events reach a real HTTP lineage endpoint on 127.0.0.1 through openlineage-python's HttpTransport."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dativo_ingest.errors import TargetError
from dativo_ingest.lineage import LineageTracker
from tests.conftest import reference_dir
from tests.lineage.conftest import build_pipeline
from tests.lineage.spec import spec_errors


class Receiver:
    """A Marquez-like endpoint: stores POST /api/v1/lineage bodies, answers ``status``."""

    def __init__(self, status: int = 201) -> None:
        self.events: list[dict] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.paths.append(self.path)
                receiver.headers.append(dict(self.headers))
                receiver.events.append(json.loads(body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def clean_openlineage_env() -> Iterator[None]:
    """openlineage-python aliases OPENLINEAGE_URL into more variables; restore the environment after."""
    before = {k: v for k, v in os.environ.items() if k.startswith("OPENLINEAGE")}
    yield
    for key in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
        del os.environ[key]
    os.environ.update(before)


def test_events_arrive_over_http_via_openlineage_url(
    workspace: Path, asset, monkeypatch: pytest.MonkeyPatch, clean_openlineage_env: None
) -> None:
    with Receiver() as receiver:
        monkeypatch.setenv("OPENLINEAGE_URL", receiver.url)
        monkeypatch.setenv("OPENLINEAGE_API_KEY", "test-key-123")
        tracker = LineageTracker()  # standard configuration: nothing passed in
        build_pipeline(tracker, asset)
        started = tracker.start_run("acme", "stripe-customers-ingest")
        done = tracker.record_run("acme", "stripe-customers-ingest", "success", {"records_processed": 10000})
    assert receiver.paths == ["/api/v1/lineage", "/api/v1/lineage"]
    assert receiver.headers[0]["Authorization"] == "Bearer test-key-123"
    assert [e["eventType"] for e in receiver.events] == ["START", "COMPLETE"]
    assert {e["run"]["runId"] for e in receiver.events} == {started["run_id"]} == {done["run_id"]}
    spec = reference_dir("openlineage", "spec")
    for event in receiver.events:
        assert spec_errors(event, spec) == []
    assert receiver.events[1]["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 10000


def test_openlineage_yml_in_the_workspace_configures_http(
    workspace: Path, asset, clean_openlineage_env: None
) -> None:
    with Receiver() as receiver:
        (workspace / "openlineage.yml").write_text(
            f"transport:\n  type: http\n  url: {receiver.url}\n  endpoint: api/v1/lineage\n"
        )
        tracker = LineageTracker()
        build_pipeline(tracker, asset)
        tracker.record_run("acme", "job", "failed", error="boom")
    assert [e["eventType"] for e in receiver.events] == ["FAIL"]
    assert receiver.events[0]["run"]["facets"]["errorMessage"]["message"] == "boom"


def test_a_failing_endpoint_does_not_fail_the_run_but_emit_reports_it(
    workspace: Path, asset, clean_openlineage_env: None
) -> None:
    with Receiver(status=400) as receiver:
        config = {"transport": {"type": "http", "url": receiver.url, "retry": {"total": 0}}}
        tracker = LineageTracker(openlineage=config)
        build_pipeline(tracker, asset)
        record = tracker.record_run("acme", "job", "success")
        assert tracker.runs("job")[0]["run_id"] == record["run_id"]
        with pytest.raises(TargetError, match="OpenLineage http transport failed"):
            tracker.emit(record["run_id"])
    assert len(receiver.events) == 2


def test_disabled_or_unconfigured_sends_nothing(
    workspace: Path, asset, monkeypatch: pytest.MonkeyPatch, clean_openlineage_env: None
) -> None:
    with Receiver() as receiver:
        tracker = LineageTracker()
        build_pipeline(tracker, asset)
        tracker.record_run("acme", "job", "success")
        monkeypatch.setenv("OPENLINEAGE_URL", receiver.url)
        monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
        tracker.record_run("acme", "job", "success")
    assert receiver.events == []
