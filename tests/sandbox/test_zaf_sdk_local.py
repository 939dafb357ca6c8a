"""The helpdesk emulator's own copy of Zendesk's ZAF SDK (``/zaf_sdk.js``), which ``make run``'s sidebar loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.zaf_sdk import SdkUnavailable
from sandbox.zendesk import create_app
from sandbox.zendesk import sdk as local


def test_without_a_local_sdk_the_emulator_says_how_to_start_one() -> None:
    answer = create_app().test_client().get("/zaf_sdk.js")
    assert answer.status_code == 404 and b"--zaf-sdk-cache" in answer.data


def test_the_bundle_in_the_cache_is_served_without_npm_or_network(tmp_path: Path) -> None:
    (tmp_path / "zaf_sdk.bundle.js").write_text("window.ZAFClient = {init: function () {}};")
    app = create_app()
    app.extensions[local.EXTENSION] = local.LocalSdk(tmp_path).start()

    answer = app.test_client().get("/zaf_sdk.js")

    assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    assert answer.data == b"window.ZAFClient = {init: function () {}};"


def test_when_npm_cannot_provide_it_the_answer_is_a_503_naming_why(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(cache_dir: Path) -> str:
        raise SdkUnavailable("npm pack zendesk_app_framework_sdk failed: offline")

    monkeypatch.setattr(local, "sdk_bundle", unavailable)
    app = create_app()
    app.extensions[local.EXTENSION] = local.LocalSdk(tmp_path).start()

    answer = app.test_client().get("/zaf_sdk.js")

    assert answer.status_code == 503
    assert answer.data == b"/* ZAF SDK unavailable: npm pack zendesk_app_framework_sdk failed: offline */\n"
