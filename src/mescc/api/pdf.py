"""The printable report of one assessment: HTML from a template, PDF by WeasyPrint.

Traps guarded (issue 9): a PDF costs about 3 s of CPU; rendered on the event loop (or in the
shared thread pool, under the GIL) it stalled every other request of the worker (4 PDF
clients pushed create latency to 383 ms). The HTML is made on the event loop (milliseconds);
WeasyPrint runs in a small process pool (``MESCC_PDF_WORKERS``, default 1, at a lower CPU
priority) with a bounded queue (``MESCC_PDF_QUEUE``, default 4): a PDF request beyond
``workers + queue`` in progress gets 503 at once, with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Literal

from fastapi import HTTPException
from fastapi.templating import Jinja2Templates

from mescc.api.audit import StoredAssessment
from mescc.api.presentation import regimen_chart

#: Renderer processes run at this much lower CPU priority than the service.
RENDER_NICENESS = 10


#: ``summary``: the board summary report (at most 2 pages); ``full``: the same, then the whole
#: assessment as an appendix (issue 10).
Detail = Literal["summary", "full"]
DETAILS: tuple[Detail, ...] = ("summary", "full")


def report_html(
    templates: Jinja2Templates, record: StoredAssessment, detail: Detail = "summary"
) -> str:
    """The report's HTML: the summary report, with the full report as appendix on request."""
    plan = record.document.get("plan")
    options = plan.get("radiotherapy") if isinstance(plan, dict) else None
    template = templates.env.get_template("report.html")
    return template.render(
        record=record,
        chart=regimen_chart(options),
        generated_at=datetime.now(UTC),
        compact=True,  # the printout: ids for the basis, a reference list, folds summarised
        detail=detail,
    )


def pdf_from_html(html: str) -> bytes:
    """WeasyPrint: HTML text to PDF bytes (run in a renderer process)."""
    from weasyprint import HTML  # heavy import, only where a PDF is made

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def report_pdf(
    templates: Jinja2Templates, record: StoredAssessment, detail: Detail = "summary"
) -> bytes:
    """The PDF report (board summary, options, instruments, inputs, cited sources, versions,
    timestamps; the full report as appendix with ``detail="full"``), in-process."""
    return pdf_from_html(report_html(templates, record, detail))


def _lower_priority() -> None:  # pragma: no cover - runs in the renderer process
    with contextlib.suppress(OSError):
        os.nice(RENDER_NICENESS)


class PdfRenderer:
    """A bounded pool of renderer processes, started on the first PDF request."""

    def __init__(self, *, workers: int, queue: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self._in_progress = 0
        self._lock = threading.Lock()
        self._pool: Executor | None = None

    def _executor(self) -> Executor:
        with self._lock:
            if self._pool is None:
                # spawn: a fork of a running server (threads, sockets, event loop) is unsafe.
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_lower_priority,
                )
            return self._pool

    def _claim(self) -> None:
        with self._lock:
            if self._in_progress >= self.capacity:
                raise HTTPException(
                    status_code=503,
                    detail=[
                        {
                            "field": None,
                            "value": None,
                            "allowed": None,
                            "message": f"report.pdf: {self._in_progress} reports are being "
                            "rendered, the most this service queues; allowed: retry in a "
                            "few seconds",
                        }
                    ],
                    headers={"Retry-After": "5"},
                )
            self._in_progress += 1

    def _release(self) -> None:
        with self._lock:
            self._in_progress -= 1

    async def render(
        self, templates: Jinja2Templates, record: StoredAssessment, detail: Detail = "summary"
    ) -> bytes:
        """The PDF of ``record``, rendered off the event loop; 503 when the queue is full."""
        self._claim()
        try:
            html = report_html(templates, record, detail)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor(), pdf_from_html, html)
        finally:
            self._release()

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
