"""The whole local stack in one process: moto, provisioning, bridge, schedules, pollers, gateway.

``LocalStack`` binds the gateway port first (a taken port fails before anything else starts), then
starts moto on a free loopback port and builds everything from the template. ``stop`` undoes what
``start`` changed in the process (environment, moto config, the bridge), so tests can run a stack
inside a pytest worker without leaking into the tests that follow.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from callproof_local import bridge, moto_patches
from callproof_local.auth import local_home
from callproof_local.gateway import Gateway, GatewayServer
from callproof_local.model import Function, load_functions
from callproof_local.pollers import MotoActivity, Poller, pollers_for
from callproof_local.provision import aws_session, provision
from callproof_local.schedules import Scheduler
from callproof_local.template import REGION, Physical, Resolver, load_template
from callproof_local.twilio_double import TwilioDouble, local_environment, set_dev_credentials

TWILIO_CREDENTIALS = "TwilioCredentialsSecret"  # template resource: gets the development token
MICROSOFT_OAUTH_SECRET = "MicrosoftOAuthSecret"  # noqa: S105 - a template resource name
GOOGLE_OAUTH_SECRET = "GoogleOAuthSecret"  # noqa: S105 - a template resource name: gets the development OAuth client

STATE_FILE = "local-stack.json"


class _WakingMotoServer(ThreadedMotoServer):
    """moto's threaded server whose app tells the pollers when a request may have written something."""

    def __init__(self, activity: MotoActivity) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self._activity = activity

    def _server_entry(self) -> None:  # as moto's, with the app wrapped
        app = self._activity.wsgi(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


def handler_environment(moto_url: str) -> dict[str, str]:
    """Process environment every handler shares: moto as the AWS endpoint, tracing off."""
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
    }


def state_file() -> Path:
    """Where a running stack records its URLs for ``callproof run-schedule``."""
    return local_home() / STATE_FILE


def _moto_config(moto_url: str) -> Any:
    with urllib.request.urlopen(f"{moto_url}/moto-api/config", timeout=10) as response:  # noqa: S310
        return json.load(response)


def _post_moto(moto_url: str, path: str, payload: Any) -> None:
    request = urllib.request.Request(  # noqa: S310 - our own loopback moto server
        f"{moto_url}{path}", data=json.dumps(payload).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


@dataclass
class LocalStack:
    template_path: Path
    port: int = 0
    gateway: GatewayServer = field(init=False)
    moto_url: str = field(init=False, default="")
    functions: dict[str, Function] = field(init=False, default_factory=dict)
    physical: dict[str, Physical] = field(init=False, default_factory=dict)
    scheduler: Scheduler | None = field(init=False, default=None)
    twilio: TwilioDouble | None = field(init=False, default=None)
    microsoft: Any = field(init=False, default=None)  # the local Microsoft double (calendars)
    google: Any = field(init=False, default=None)  # the local Google double (Gmail), when the template has it
    _moto: ThreadedMotoServer | None = field(init=False, default=None)
    _activity: MotoActivity = field(init=False, default_factory=MotoActivity)
    _pollers: list[Poller] = field(init=False, default_factory=list)
    _saved_env: dict[str, str | None] = field(init=False, default_factory=dict)
    _saved_moto_config: Any = field(init=False, default=None)
    startup_ms: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.gateway = GatewayServer(self.port)  # raises PortInUseError before anything starts
        self.template_path = self.template_path.resolve()

    @property
    def url(self) -> str:
        return self.gateway.url

    def start(self) -> LocalStack:
        started = time.perf_counter()
        self._moto = _WakingMotoServer(self._activity)
        self._moto.start()
        host, moto_port = self._moto.get_host_and_port()
        self.moto_url = f"http://{host}:{moto_port}"
        self._set_env({**handler_environment(self.moto_url), "MOTO_PORT": str(moto_port)})
        self._saved_moto_config = _moto_config(self.moto_url)
        bridge.configure_moto(self.moto_url)
        moto_patches.install()

        template = load_template(self.template_path)
        template_dir = self.template_path.parent
        self.physical = provision(template, template_dir, self.moto_url)
        if TWILIO_CREDENTIALS in self.physical:  # SMS: the local Twilio double and the development token
            self.twilio = TwilioDouble().start()
            self._set_env(local_environment(self.url, self.twilio.url))
            set_dev_credentials(aws_session(), self.moto_url, self.physical[TWILIO_CREDENTIALS].ref)
        if GOOGLE_OAUTH_SECRET in self.physical:  # Gmail: the local Google double and its OAuth client
            from callproof_local import google_double

            self.google = google_double.GoogleDouble().start()
            self._set_env(google_double.local_environment(self.url, self.google.url))
            google_double.set_dev_credentials(
                aws_session(), self.moto_url, self.physical[GOOGLE_OAUTH_SECRET].ref
            )
        if MICROSOFT_OAUTH_SECRET in self.physical:  # Calendars: the local Microsoft double and its client
            from callproof_local import microsoft_double

            self.microsoft = microsoft_double.MicrosoftDouble().start()
            self._set_env(microsoft_double.local_environment(self.url, self.microsoft.url))
            microsoft_double.set_dev_credentials(
                aws_session(), self.moto_url, self.physical[MICROSOFT_OAUTH_SECRET].ref
            )
        if "AccountsFunction" in self.physical:  # unsubscribe and guardian links point at the gateway
            self._set_env({"ACCOUNTS_PUBLIC_BASE_URL": self.url})
        if "DsarFunction" in self.physical:  # confirmation and download links point at the gateway
            self._set_env({"DSAR_PUBLIC_BASE_URL": self.url})
        self.functions = load_functions(template, template_dir, Resolver(template, self.physical))
        bridge.install(self.functions)
        self.scheduler = Scheduler(self.functions.values())
        self.scheduler.start()
        self._pollers = pollers_for(self.functions.values(), self.moto_url, self._activity)
        for poller in self._pollers:
            poller.start()
        self.gateway.serve(Gateway(self.functions.values(), self.moto_url, self.scheduler.run))
        self._write_state()
        self.startup_ms = (time.perf_counter() - started) * 1000
        return self

    def stop(self) -> None:
        """Stop every part that was started, newest first; safe after a failed start."""
        self.gateway.stop()
        for poller in self._pollers:
            poller.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        bridge.uninstall()
        if self.twilio is not None:
            self.twilio.stop()
        if self.google is not None:
            self.google.stop()
        if self.microsoft is not None:
            self.microsoft.stop()
        if self._moto is not None:
            # moto's backends and config are process-wide: leave them as we found them
            _post_moto(self.moto_url, "/moto-api/reset", {})
            if self._saved_moto_config is not None:
                _post_moto(self.moto_url, "/moto-api/config", self._saved_moto_config)
            self._moto.stop()
        self._restore_env()
        self._remove_state()

    def process_environment(self) -> dict[str, str]:
        """What ``start`` set in this process's environment for the handlers (moto as the AWS endpoint,
        the local doubles, the public URLs): tests/built hands it to the built functions' processes."""
        return {key: os.environ[key] for key in self._saved_env if key in os.environ}

    def __enter__(self) -> LocalStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- process environment and state file
    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        self._saved_env.setdefault("AWS_SESSION_TOKEN", os.environ.pop("AWS_SESSION_TOKEN", None))

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def _write_state(self) -> None:
        path = state_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {"url": self.url, "moto_url": self.moto_url, "pid": os.getpid()}
        if self.twilio is not None:
            state["twilio_double_url"] = self.twilio.url
        if self.google is not None:
            state["google_double_url"] = self.google.url
        if self.microsoft is not None:
            state["microsoft_double_url"] = self.microsoft.url
        path.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")

    def _remove_state(self) -> None:
        path = state_file()
        try:
            if json.loads(path.read_text(encoding="utf-8")).get("url") == self.url:
                path.unlink()
        except (OSError, ValueError):
            pass
