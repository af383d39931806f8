"""Call logs from the mobile app: batch upload, reading, deletion, device registration. Thin."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from collections import Counter
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, wiring
from callproof.calls.model import (
    BatchResultOut,
    CallBatchIn,
    CallLogOut,
    CallPage,
    DeviceIn,
    DeviceOut,
    EntryResultOut,
)
from callproof.calls.ports import CallPageData
from callproof.calls.service import MAX_PAGE_SIZE, CallLogService
from callproof.observability import logger, metrics, tracer

MAX_BATCH_BYTES = 5 * 1024 * 1024

app = http.resolver(wiring.policy_gate, max_body_bytes=MAX_BATCH_BYTES)


def service() -> CallLogService:
    return wiring.call_logs()[0]


def page(data: CallPageData) -> CallPage:
    return CallPage(
        items=[CallLogOut.model_validate(call) for call in data.calls], next_cursor=data.next_cursor
    )


@app.post("/v1/call-logs")
def upload_call_logs(body: CallBatchIn) -> BatchResultOut:
    """Upload a batch of call logs from the mobile app.
    One result per entry, in order, with its contact match; a batch with some bad entries stores the
    good ones, and a replayed entry (same `client_id`) is a duplicate, never a second call."""
    results = service().ingest(http.current_caller(app), body.entries)
    counts = Counter(result.status.value for result in results)
    for status, count in counts.items():
        metrics.add_metric(name=f"CallLogs_{status}", unit="Count", value=count)
    logger.info("call-log batch", extra={"entries": len(results), "counts": dict(counts)})
    return BatchResultOut(
        results=[EntryResultOut.model_validate(result) for result in results], counts=dict(counts)
    )


@app.get("/v1/call-logs")
def list_call_logs(
    user: Annotated[str, Query(pattern=r"^(me|[A-Za-z0-9][A-Za-z0-9_-]{0,63})$")] = "me",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> CallPage:
    """The caller's calls, newest first (`user=<id>` for admins)."""
    return page(service().list_for_user(http.current_caller(app), user, limit, cursor))


@app.get("/v1/contacts/<contact_id>/calls")
def list_contact_calls(
    contact_id: str,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> CallPage:
    """Calls matched to a contact, newest first."""
    return page(service().list_for_contact(http.current_caller(app), contact_id, limit, cursor))


@app.delete("/v1/call-logs/<call_id>", status_code=HTTPStatus.NO_CONTENT)
def delete_call_log(call_id: str) -> Response[None]:
    """Delete a call log: the rep's own, or any of the org for an admin."""
    service().delete(http.current_caller(app), call_id)
    return Response(HTTPStatus.NO_CONTENT)


@app.put("/v1/devices/<device_id>")
def register_device(device_id: str, body: DeviceIn) -> Response[DeviceOut]:
    """Register or update the caller's phone (rep or admin); a device registered to another user is 409.
    A location is kept only with `location_consent: true`."""
    device = service().register_device(http.current_caller(app), device_id, body)
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, DeviceOut.model_validate(device))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste
