"""/api/docs in a real Chromium with every other host unreachable: Swagger UI comes from
this site's static files (Django Ninja's package), runs under the Content-Security-Policy
(the page fixture fails on any violation) and lists the API's operations."""

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_work_offline_under_the_policy(live_server, page, artifacts_dir):
    # given a browser that can reach nothing but this site
    own_host = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []

    def only_this_site(route):
        if urlsplit(route.request.url).netloc == own_host:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_site)

    # when a developer opens the API docs
    page.goto(f"{live_server.url}/api/docs")

    # then Swagger UI renders the API's title and its operations from this site alone
    # (Swagger UI's bundle is 1.5 MB of JavaScript: on a loaded 2-core machine it takes a while)
    page.wait_for_selector(".swagger-ui .info .title", timeout=60_000)
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("Tessera API")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() > 20
    page.locator(".opblock-summary", has_text="/api/v1/events").first.click()
    page.wait_for_selector(".opblock.is-open .parameters, .opblock.is-open .opblock-section")
    assert elsewhere == []
    scripts = page.eval_on_selector_all("script[src]", "els => els.map(e => e.src)")
    assert scripts and all(urlsplit(src).netloc == own_host for src in scripts)
    page.screenshot(path=artifacts_dir / "api-docs-desktop.png")
