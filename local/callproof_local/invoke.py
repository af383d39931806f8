"""Run a template function's handler in-process, the way Lambda would call it.

Every local invocation (gateway, Step Functions bridge, schedules, pollers) goes through ``invoke``:
the handler file is imported by path under a unique module name (functions all have an ``app.py``,
and sys.path is never touched), and it runs inside ``function_environment`` so it sees its own
template environment variables, as it would in its own Lambda sandbox. Its log lines name its own
service (the template's ``POWERTOOLS_SERVICE_NAME``): Powertools reads that variable once, when the
shared Logger is made, from the process environment all local functions share, so ``ServiceName``
sets it on each record of an invocation instead.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from callproof.config import function_environment
from callproof_local.model import Function

Handler = Callable[[Any, "LambdaContext"], Any]

_modules: dict[Path, ModuleType] = {}
_import_lock = threading.Lock()


@dataclass
class LambdaContext:
    """The context object Lambda passes as the handler's second argument."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{time.strftime('%Y/%m/%d')}/[{self.function_version}]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def _import_file(path: Path) -> ModuleType:
    with _import_lock:
        module = _modules.get(path)
        if module is not None:
            return module
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
        name = f"callproof_local_fn_{path.stem}_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import handler file {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pydantic look their module up here
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        _modules[path] = module
        return module


def load_module(code_dir: Path, handler: str) -> ModuleType:
    """The module named by ``Handler: module.func`` (``pkg/mod.py`` for ``pkg.mod.func``)."""
    module_path, _, _ = handler.rpartition(".")
    if not module_path:
        raise ValueError(f"Handler {handler!r} must look like 'module.function'")
    path = (code_dir / Path(*module_path.split("."))).with_suffix(".py")
    if not path.is_file():
        raise FileNotFoundError(f"handler file {path} not found (Handler {handler!r}, CodeUri {code_dir})")
    return _import_file(path)


def load_handler(code_dir: Path, handler: str) -> Handler:
    """The callable named by ``Handler: module.func``."""
    attribute = handler.rpartition(".")[2]
    module = load_module(code_dir, handler)
    path = module.__file__
    target = getattr(module, attribute, None)
    if not callable(target):
        raise AttributeError(f"{path} has no callable {attribute!r}")
    return target  # type: ignore[no-any-return]


def lambda_environment(function: Function) -> dict[str, str]:
    """The variables Lambda itself sets, followed by the function's own template variables."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        **function.environment,
    }


SERVICE_VARIABLE = "POWERTOOLS_SERVICE_NAME"
_service: ContextVar[str | None] = ContextVar("callproof_local_service", default=None)


class ServiceName(logging.Filter):
    """Names the invoked function's service on each log record (Powertools' formatter lets a record's
    own attributes win over its ``service`` key), in the thread of that invocation only."""

    def filter(self, record: logging.LogRecord) -> bool:
        service = _service.get()
        if service:
            record.service = service
        return True


@cache
def install_service_names() -> None:
    """Add ``ServiceName`` to the functions' shared Logger, once per process."""
    from callproof.observability import logger

    logger.addFilter(ServiceName())


_function_locks: dict[str, threading.Lock] = {}


def _lock_for(function: Function) -> threading.Lock:
    with _import_lock:
        return _function_locks.setdefault(function.logical_id, threading.Lock())


def invoke(function: Function, event: Any) -> Any:
    """Call ``function``'s handler with ``event`` and a fresh context; exceptions propagate.

    One invocation per function at a time, as in one Lambda execution environment: handler modules
    keep per-request state at module level (Powertools' resolver holds the current event), so two
    threads inside one handler would see each other's requests.
    """
    handler = load_handler(function.code_dir, function.handler)
    context = LambdaContext(
        function_name=function.name,
        invoked_function_arn=function.arn,
        memory_limit_in_mb=function.memory,
        timeout_seconds=function.timeout,
    )
    environment = lambda_environment(function)
    install_service_names()
    token = _service.set(environment.get(SERVICE_VARIABLE))
    try:
        with _lock_for(function), function_environment(environment):
            return handler(event, context)
    finally:
        _service.reset(token)
