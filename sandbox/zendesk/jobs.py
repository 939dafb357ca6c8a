"""Background jobs (`update_many`, `create_many`) that move queued -> working -> completed."""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..timeutil import Clock, iso
from .store import clone

log = logging.getLogger(__name__)
MAX_QUEUED_JOBS = 30  # Zendesk refuses new bulk jobs while 30 are queued

JobFn = Callable[[int, Any], dict[str, Any]]


class JobRunner:
    """Runs jobs one at a time on a daemon thread; the job records live in the state's table."""

    def __init__(
        self, lock: threading.RLock, table: dict[str, dict[str, Any]], clock: Clock, delay: float = 0.2
    ) -> None:
        self._lock = lock
        self._table = table
        self._clock = clock
        self.delay = delay
        self._queue: queue.Queue[tuple[str, list[Any], JobFn] | None] = queue.Queue()
        self._idle = threading.Condition()
        self._busy = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def create(self, job_type: str, items: list[Any], fn: JobFn) -> dict[str, Any]:
        """Record a queued job and schedule it; returns the stored job record."""
        job_id = uuid.uuid4().hex
        job = {
            "id": job_id,
            "job_type": job_type,
            "status": "queued",
            "total": len(items),
            "progress": 0,
            "message": None,
            "results": None,
            "_created_ts": self._clock(),
        }
        with self._lock:
            self._table[job_id] = job
        with self._idle:
            self._busy += 1
        self._ensure_thread()
        self._queue.put((job_id, items, fn))
        return job

    def active_count(self) -> int:
        """Jobs queued or working."""
        with self._lock:
            return sum(1 for j in self._table.values() if j["status"] in ("queued", "working"))

    def _ensure_thread(self) -> None:
        with self._idle:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="zendesk-jobs", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self._queue.get()
            if item is None:
                return
            job_id, items, fn = item
            try:
                self._execute(job_id, items, fn)
            except Exception as exc:  # a crashing job must fail visibly, not kill the runner
                log.exception("job %s crashed", job_id)
                with self._lock:
                    self._table[job_id].update(status="failed", message=str(exc))
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def _execute(self, job_id: str, items: list[Any], fn: JobFn) -> None:
        # Half the delay queued, half working: clients that poll see every state.
        self._stop.wait(self.delay / 2)
        with self._lock:
            job = self._table[job_id]
            job["status"] = "working"
            job["results"] = []
        results = []
        for index, item in enumerate(items):
            result = fn(index, item)
            with self._lock:
                results.append(result)
                job["results"] = clone(results)
                job["progress"] = index + 1
        self._stop.wait(self.delay / 2)
        with self._lock:
            job["status"] = "completed"
            job["message"] = f"Completed at {iso(self._clock()).replace('T', ' ').replace('Z', ' +0000')}"

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every job has finished; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def stop(self) -> None:
        """Stop the runner thread."""
        self._stop.set()
        self._queue.put(None)


def job_view(job: dict[str, Any], base: str) -> dict[str, Any]:
    """Public JSON of a job status."""
    out = {k: clone(v) for k, v in job.items() if not k.startswith("_")}
    out["url"] = f"{base}/api/v2/job_statuses/{job['id']}.json"
    return out
