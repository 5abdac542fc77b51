"""The event loop a day runs on (its own, uvloop's when installed; a worker thread when the
caller already runs a loop) and the trace log its actors write to."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path


def add_trace_log(out_dir: str, name: str, append: bool = False) -> logging.Handler | None:
    """The trace log: what actors log at INFO and above goes to DIR/trace-NAME.log (`append`:
    after what is there, so a node restarted mid-run keeps its first life's trace). Returns the
    handler, for `remove_trace_log` when the run is over (a process may run several days)."""
    if not out_dir:
        return None
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(Path(out_dir) / f"trace-{name}.log", mode="a" if append else "w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger("scowl")
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


def remove_trace_log(handler: logging.Handler | None) -> None:
    if handler is not None:
        logging.getLogger("scowl").removeHandler(handler)
        handler.close()


def _event_loop_factory():
    """uvloop's loop for this run only (no global event-loop policy), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def run_coroutine(make_coro):
    """Run `make_coro()` to completion on a new event loop of its own, and return its result.
    In a thread that already runs a loop (Jupyter, an async caller) it runs in a worker thread,
    since a loop cannot be nested; the caller's loop is blocked meanwhile, as for any call."""
    def _run():
        with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
            return runner.run(make_coro())
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run()
    box: dict = {}

    def _worker() -> None:
        try:
            box["result"] = _run()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc
    worker = threading.Thread(target=_worker, name="scowl-run", daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["result"]
