"""Browser fixtures: Debian's Chromium driven by Playwright, with a fake microphone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
FAKE_MICROPHONE = Path(__file__).with_name("speech.wav")  # made by make_speech.sh
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"

# An assertion waits as long as a page step may (STEP_TIMEOUT_MS), not Playwright's 5 s: a
# Streamlit run on a loaded machine takes longer. A hang guard, never a measurement.
expect.set_options(timeout=60_000)


# Package scope, not session: Playwright's sync API keeps its event loop running in this thread
# while the browser is open, so a later test outside tests/e2e that runs its own loop
# (anyio.run, asyncio.run) would fail with "Cannot run the event loop while another loop is
# running". The browser closes when the last test of tests/e2e (a package: its __init__.py) is
# done.
@pytest.fixture(scope="package")
def browser() -> Browser:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-audio-capture={FAKE_MICROPHONE}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
