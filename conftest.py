"""Shared pytest configuration and fixtures.

``browser`` is a headless Chromium driven by Playwright (sync API): ``$TESSERA_CHROMIUM``,
else Debian's ``/usr/bin/chromium``, else the Chromium that ``playwright install`` put in
Playwright's own folder (``make browser``, run by ``make test``, sets one of them up). A
missing Chromium fails the browser tests with instructions; it never skips them.

``redis_url`` is a real Redis for the tests: ``$TESSERA_TEST_REDIS_URL``, else a server the
session starts itself (``tools/redis_server.py``) and stops at the end.
"""

import os
import threading
import time
import uuid
from pathlib import Path

import pytest

from tools.browser import CHROMIUM_ARGS, find_chromium

ARTIFACTS_DIR = Path(__file__).resolve().parent / "test-artifacts"


def chromium_path(playwright=None) -> str:
    """The Chromium binary the browser tests drive (Playwright's own one is looked for only
    when ``playwright`` is given); fails the test when it is missing."""
    path = find_chromium(playwright.chromium.executable_path if playwright else None)
    if path is None:
        pytest.fail(
            "No Chromium for the browser tests: run `make browser` (it installs Debian's "
            "chromium package or Playwright's own), or point TESSERA_CHROMIUM at a Chromium "
            "binary; `make test-fast` runs the other tests.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium per test session (per xdist worker)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev dependencies include playwright
        pytest.fail(
            "Playwright is not installed: `pip install -r requirements.lock`.", pytrace=False
        )
    # Playwright's sync API runs an asyncio loop in this thread; Django refuses database
    # access from a thread with a running loop unless told that it is safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        executable = chromium_path(playwright)
        instance = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield instance
        finally:
            instance.close()


# Reports every Content-Security-Policy violation of a page to the console (the init script
# runs before the page's own scripts and is not itself subject to the policy).
_CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || document.location.href}:${e.lineNumber}`);
});
"""


def watch_csp(context, tab) -> list[str]:
    """The CSP violations the pages of ``context`` meet, collected as they happen; the page
    fixtures fail a test that met any (every browser test checks the policy)."""
    violations: list[str] = []
    context.add_init_script(_CSP_REPORTER)

    def on_console(message) -> None:
        text = message.text
        if "CSP violation" in text or "Content Security Policy" in text:
            violations.append(text)

    tab.on("console", on_console)
    return violations


def wait_for_live_server_requests(timeout: float = 15) -> None:
    """Wait until the live server's request threads are done (after the browser closed its
    context): a request still running at the end of a test (a seat view counted, a poll)
    would hold row locks while the test's database is flushed, and the flush then
    deadlocks and leaves rows behind for the next test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(
            "process_request_thread" in thread.name and thread.is_alive()
            for thread in threading.enumerate()
        ):
            return
        time.sleep(0.02)


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies) whose language is Chinese, at a desktop size."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    violations = watch_csp(context, tab)
    try:
        yield tab
    finally:
        context.close()
        wait_for_live_server_requests()
    assert not violations, f"Content-Security-Policy violations: {violations}"


@pytest.fixture
def phone_page(browser):
    """A fresh browser context the size of a phone (390 x 844 CSS pixels)."""
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    violations = watch_csp(context, tab)
    try:
        yield tab
    finally:
        context.close()
        wait_for_live_server_requests()
    assert not violations, f"Content-Security-Policy violations: {violations}"


@pytest.fixture
def artifacts_dir() -> Path:
    """Where browser tests save screenshots (git-ignored)."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def redis_url():
    """The URL of a real Redis for the tests: ``$TESSERA_TEST_REDIS_URL`` (an existing
    server; give it a database number of its own, e.g. ``redis://127.0.0.1:6379/7``), else
    a server this session starts on a free port and stops at the end. Under xdist each
    worker starts its own. Started only when a test asks for it."""
    url = os.environ.get("TESSERA_TEST_REDIS_URL")
    if url:
        yield url
        return
    from tools.redis_server import NoRedisServer, start_server

    try:
        server = start_server()
    except NoRedisServer as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_prefix(redis_url):
    """A key prefix of this test's own on the tests' Redis (``<prefix>:…``); every key
    under it is deleted after the test, so the tests never touch other data."""
    import redis

    prefix = f"tessera-test:{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Service calls made directly by a test run in English, so tests can assert exact
    messages; requests still choose their language through LocaleMiddleware (Chinese by
    default, or Accept-Language / the language cookie)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_process_memory():
    """What a process remembers between requests (orders heard of, rooms, channel keys)
    starts empty for each test: SQLite reuses the ids of rolled-back rows, so a memory of
    an earlier test's order 1 would otherwise meet this test's order 1."""
    from tessera.orders import changes
    from tessera.ratelimit import verification
    from tessera.risk import gate, scoring, state
    from tessera.sale import channels
    from tessera.waitingroom.selectors import forget_rooms

    changes.board.clear()
    forget_rooms()
    channels.forget()
    state.assume_quiet()
    scoring.forget()
    gate.forget()
    if verification._requirements:  # an earlier test's requirement (SQLite reuses ids)
        verification.forget_requirements()
    yield


@pytest.fixture(scope="session", autouse=True)
def _order_listener_stopped_at_the_end(django_db_setup):
    """The order listener (PostgreSQL) holds a connection to the test database; it stops
    before the database is dropped."""
    yield
    from tessera.orders import changes

    changes.stop_listening()
