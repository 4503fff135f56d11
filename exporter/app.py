"""The running exporter: the poller feeds the renderer, the renderer feeds the web server.

`App` wires them: every snapshot the poller completes is rendered once (in the poller's thread)
and published to the server, which only copies bytes. Before the first snapshot the server
serves the exporter's own build and interval metrics, so a scrape is never an error. `serve` runs
an App in the foreground until SIGTERM or SIGINT, then stops the server and the poller.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from types import FrameType

from exporter import __version__
from exporter.catalog import own
from exporter.collectors.own import build_labels
from exporter.config import Config
from exporter.config.keys import summary
from exporter.http import MetricsServer, ServerOptions, ServingState
from exporter.poller import Poller
from exporter.render import Fresh, Renderer
from exporter.snapshot import Snapshot, SnapshotBuilder
from exporter.sources import process
from exporter.webconfig import WebSecurity

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 10.0


def startup_snapshot(config: Config) -> Snapshot:
    """What /metrics shows before the first poll: build info and the poll interval."""
    out = SnapshotBuilder()
    out.add(own.BUILD_INFO, build_labels(), 1)
    out.add(own.POLL_INTERVAL, (), config.poll.interval_seconds)
    return out.build(taken_at=0.0)


class App:
    """The web server and the poller of one configuration. Binding happens in the constructor,
    so a taken port raises OSError before anything starts (and a bad web config file
    WebConfigError)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        # the exporter's own process_* and python_*: read at every scrape, not once per cycle
        self.renderer = Renderer(fresh=Fresh(process.FAMILIES, process.OwnProcess().read))
        self.state = ServingState(
            self.renderer.render(startup_snapshot(config)), ready=lambda: self.poller.ready
        )
        security = WebSecurity(config.web.config_file) if config.web.config_file else None
        options = ServerOptions(
            listen_address=config.web.listen_address,
            telemetry_path=config.web.telemetry_path,
            summary=summary(config),
            version=__version__,
            ssl_context=security.context if security is not None and security.tls else None,
            authorize=security.authorize if security is not None else None,
        )
        self.server = MetricsServer(options, self.state)
        try:
            self.poller = Poller(config, on_snapshot=self._publish)
        except BaseException:
            self.server.stop()
            raise

    def _publish(self, snapshot: Snapshot) -> None:
        exposition = self.renderer.render(snapshot)
        self.state.publish(exposition)
        log.debug("exposition published series=%d taken_at=%.3f at=%.3f", exposition.series,
                  snapshot.taken_at, time.time())  # fmt: skip

    def start(self) -> None:
        self.server.start()
        self.poller.start()
        log.info(
            "kafka-vitals started version=%s address=%s port=%d path=%s interval_seconds=%s",
            __version__,
            self.config.web.listen_address,
            self.server.port,
            self.config.web.telemetry_path,
            self.config.poll.interval_seconds,
        )
        changed = " ".join(f"{k}={v!r}" for k, v in summary(self.config, changed_only=True))
        log.info("configuration %s", changed)

    def stop(self) -> None:
        self.server.stop()
        self.poller.stop(STOP_TIMEOUT_SECONDS)


def serve(config: Config, stop: threading.Event | None = None) -> int:
    """Run in the foreground until SIGTERM/SIGINT (or `stop` is set). Returns the exit code.

    Raises OSError when the listen address cannot be bound.
    """
    stop = stop if stop is not None else threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            log.warning("second signal, exiting at once signal=%s", name)
            os._exit(1)
        log.info("stopping signal=%s", name)
        stop.set()

    app = App(config)
    in_main = threading.current_thread() is threading.main_thread()
    previous = (
        {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        if in_main
        else {}
    )
    try:
        app.start()
        while not stop.wait(1.0):
            pass
    finally:
        app.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("kafka-vitals stopped")
    return 0
