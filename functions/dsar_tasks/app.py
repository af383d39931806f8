"""The steps of the export and erasure state machines (infra/statemachines). Thin: validate the task
input, run the step. A raised exception is the task's error: the state machine retries it with
backoff, then records the failure (per store, or needs_attention for the request)."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import wiring
from callproof.dsar.workflow import TaskEvent
from callproof.observability import logger, metrics, tracer

ROUND_MARGIN_MS = 120_000  # an erasure round (1,000 messages) starts only with two minutes left


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskEvent.model_validate(event)
    logger.append_keys(step=task.step, request_id=task.request_id, store=task.store)
    result = wiring.dsar_tasks().run(task, lambda: context.get_remaining_time_in_millis() > ROUND_MARGIN_MS)
    metrics.add_metric(name=f"DsarStep_{task.step}", unit="Count", value=1)
    return result


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste
