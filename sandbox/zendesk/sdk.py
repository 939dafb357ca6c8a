"""Zendesk's ZAF SDK served by the helpdesk emulator at ``/zaf_sdk.js``, so the sidebar works offline.

Deskmate's sidebar loads the SDK from Zendesk's CDN; under ``make run`` it loads this copy instead
(``DESKMATE_SIDEBAR_ZAF_SDK_URL``). The copy is bundled from the npm package (``sandbox/zaf_sdk.py``) in the
background when the emulator starts, and kept in a cache folder: the first run needs the npm registry, later
ones need no network. Until the bundle is ready a request waits; when it cannot be made the answer is a 503
naming the reason, and the sidebar says that the SDK did not load.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import Blueprint, Response, current_app

from ..zaf_sdk import SdkUnavailable, sdk_bundle

EXTENSION = "zaf_sdk"
WAIT_SECONDS = 30.0  # what a request waits for a bundle still being made (npm pack takes seconds online)

log = logging.getLogger(__name__)
bp = Blueprint("zaf_sdk", __name__)


class LocalSdk:
    """The SDK bundle for ``/zaf_sdk.js``, made once from npm and cached in ``cache_dir``."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.script: str | None = None
        self.problem = ""
        self._ready = threading.Event()

    def start(self) -> LocalSdk:
        threading.Thread(target=self._build, name="zaf-sdk-bundle", daemon=True).start()
        return self

    def _build(self) -> None:
        try:
            self.script = sdk_bundle(self.cache_dir)
        except SdkUnavailable as exc:
            self.problem = str(exc)
            log.warning("the ZAF SDK cannot be served locally (%s); the sidebar will say it did not load", exc)
        finally:
            self._ready.set()

    def wait(self, seconds: float) -> str | None:
        """The bundle, waiting up to ``seconds`` for it; None when it is not (yet) available."""
        self._ready.wait(seconds)
        return self.script


@bp.get("/zaf_sdk.js")
def zaf_sdk() -> Response:
    sdk: LocalSdk | None = current_app.extensions.get(EXTENSION)
    if sdk is None:
        return Response("/* no local ZAF SDK: start the sandbox with --zaf-sdk-cache DIR */\n", status=404,
                        mimetype="text/javascript")
    script = sdk.wait(WAIT_SECONDS)
    if script is None:
        reason = (sdk.problem or "still being bundled").replace("*/", "* /")
        return Response(f"/* ZAF SDK unavailable: {reason} */\n", status=503, mimetype="text/javascript")
    return Response(script, mimetype="text/javascript", headers={"Cache-Control": "max-age=3600"})
