"""Set up the Chromium that the browser tests drive (``make browser``, run by ``make test``
before any test).

In order: ``$TESSERA_CHROMIUM``; Debian's ``/usr/bin/chromium``; Debian's ``chromium``
package installed now, when this user can install packages (root or password-less sudo, and
apt-get); Playwright's own download (``playwright install chromium`` of the pinned
playwright, into Playwright's folder, where the tests look next). The chosen browser is then
started once, headless, to prove it runs. When nothing works it stops with one sentence
saying what to install.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

DEBIAN_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
INSTALL_TIMEOUT_S = 900
WHAT_TO_INSTALL = (
    "No Chromium for the browser tests: install Debian's chromium package "
    "(`sudo apt-get install chromium`) or point TESSERA_CHROMIUM at a Chromium binary, "
    "or run the other tests alone with `make test-fast`."
)


def is_executable(path: str | None) -> bool:
    return bool(path) and Path(path).is_file() and os.access(path, os.X_OK)


def find_chromium(playwright_own: str | None) -> str | None:
    """The Chromium to drive: ``$TESSERA_CHROMIUM``, Debian's, or Playwright's own
    (``playwright_own``, ``playwright.chromium.executable_path``), whichever exists first.
    A ``$TESSERA_CHROMIUM`` that is not executable is never passed over."""
    chosen = os.environ.get("TESSERA_CHROMIUM")
    if chosen:
        return chosen if is_executable(chosen) else None
    for path in (DEBIAN_CHROMIUM, playwright_own):
        if is_executable(path):
            return path
    return None


def _say(text: str) -> None:
    print(f"browser: {text}", flush=True)


def _run(argv: list[str], env: dict | None = None) -> bool:
    try:
        done = subprocess.run(  # noqa: S603 - fixed commands
            argv, env=env, timeout=INSTALL_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        _say(f"{' '.join(argv)} failed: {error}")
        return False
    return done.returncode == 0


def _apt_prefix() -> list[str] | None:
    """How this user runs apt-get as root, or None when it cannot."""
    if not shutil.which("apt-get"):
        return None
    if os.geteuid() == 0:
        return []
    sudo = shutil.which("sudo")
    if sudo and _run([sudo, "-n", "true"]):
        return [sudo, "-n"]
    return None


def install_debian_chromium() -> bool:
    prefix = _apt_prefix()
    if prefix is None:
        return False
    _say("installing Debian's chromium package")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return (
        _run([*prefix, "apt-get", "update", "-qq"], env)
        and _run([*prefix, "apt-get", "install", "-y", "-qq", "chromium"], env)
        and is_executable(DEBIAN_CHROMIUM)
    )


def install_playwright_chromium() -> bool:
    _say("downloading Playwright's own Chromium (playwright install chromium)")
    return _run([sys.executable, "-m", "playwright", "install", "--no-shell", "chromium"])


def starts(executable: str) -> bool:
    """Start the browser headless, render a page, close it."""
    from playwright.sync_api import Error, sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True
            )
            try:
                page = browser.new_page()
                page.set_content("<p id=x>2</p>")
                return page.locator("#x").inner_text() == "2"
            finally:
                browser.close()
    except Error as error:
        _say(f"{executable} does not start: {error.message.splitlines()[0]}")
        return False


def playwright_own_path() -> str:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        return playwright.chromium.executable_path


def main() -> int:
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("Playwright is not installed: run `make install` first.", file=sys.stderr)
        return 1
    chosen = os.environ.get("TESSERA_CHROMIUM")
    if chosen and not is_executable(chosen):
        print(
            f"TESSERA_CHROMIUM={chosen} is not an executable file: point it at a Chromium "
            "binary, or unset it to let `make browser` find or install one.",
            file=sys.stderr,
        )
        return 1
    own = playwright_own_path()
    executable = find_chromium(own)
    if executable is None and install_debian_chromium():
        executable = DEBIAN_CHROMIUM
    if executable is None and install_playwright_chromium():
        executable = find_chromium(playwright_own_path())
    if executable is None or not starts(executable):
        print(WHAT_TO_INSTALL, file=sys.stderr)
        return 1
    _say(executable)
    return 0


if __name__ == "__main__":
    sys.exit(main())
