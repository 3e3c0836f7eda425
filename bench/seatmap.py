"""Group ``seatmap``: the seat map's availability endpoint, best available and the overview
in a real browser, on a stadium session with a realistic mix of seat states.

Figures:

* ``availability_ms``: median server time of the availability endpoint
  (``/api/v1/sessions/{id}/seatmap/availability``, in-process through the API's view with
  RequestFactory, no middleware) with the payload cache cold on every request (states read
  and encoded each time); ``availability_warm_ms`` the same with the cache warm;
  ``availability_first_ms`` the very first request (the seat order is built too).
* ``availability_kb``: the gzipped payload in KB (``availability_raw_kb`` before gzip).
* ``best_available_ms``: median of a best-available proposal (snapshot of zone A and
  ``find_blocks``), k = 1..8.
* ``overview_render_ms``: Chromium via Playwright against ``manage.py serve``, navigation
  start until the map is drawn with its first availability applied
  (``#seatmap[data-ready]``), median; ``overview_html_ms`` when the page's HTML had
  arrived; screenshots of the last run go to ``var/bench/``.

Seat states: `--seatmap-sold` of the seats sold and 5 % held, at random (fixed seed), so the
encoding sees a mid-sale mix rather than one long run.
"""

from __future__ import annotations

import gzip
import random
import statistics
import time
from datetime import timedelta
from pathlib import Path

from django.core.cache import cache
from django.test import RequestFactory
from django.urls import resolve, reverse
from django.utils import timezone

from bench import Context, group
from bench.fixtures import make_buyers, make_stadium, open_sale, sign_in_sessions
from bench.server import ROOT, Server
from tessera.inventory import seatmap as encoding
from tessera.inventory import selectors
from tessera.inventory.best_available import find_blocks
from tessera.inventory.models import Hold, InventoryUnit, UnitStatus


def add_arguments(parser) -> None:
    parser.add_argument(
        "--seatmap-places",
        type=int,
        default=None,
        help="places of the seat-map session (default 60,000; --quick: --seats)",
    )
    parser.add_argument("--seatmap-requests", type=int, default=None, help="requests per figure")
    parser.add_argument("--seatmap-sold", type=float, default=0.3, help="share of seats sold")


def _mix_states(sale, *, sold_share: float, now) -> None:
    """Sell ``sold_share`` and hold 5 % of the seats at random (one hold, one order line id)."""
    rng = random.Random(2718)
    ids = list(
        InventoryUnit.objects.filter(session=sale.session, seat__isnull=False).values_list(
            "id", flat=True
        )
    )
    rng.shuffle(ids)
    sold = ids[: int(len(ids) * sold_share)]
    held = ids[len(sold) : len(sold) + len(ids) // 20]
    buyer = make_buyers(count=1, prefix="seatmapholder")[0]
    hold = Hold.objects.create(
        session=sale.session,
        user=buyer,
        quantity=len(held) or 1,
        created_at=now,
        expires_at=now + timedelta(hours=6),
    )
    for start in range(0, len(sold), 5000):
        InventoryUnit.objects.filter(id__in=sold[start : start + 5000]).update(
            status=UnitStatus.SOLD, order_line_id=1
        )
    for start in range(0, len(held), 5000):
        InventoryUnit.objects.filter(id__in=held[start : start + 5000]).update(
            status=UnitStatus.HELD, hold=hold, hold_expires_at=hold.expires_at
        )


def _time_ms(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _availability(ctx: Context, sale, requests: int) -> dict:
    factory = RequestFactory()
    address = reverse("api:seatmap_availability", kwargs={"session_id": sale.session.pk})
    match = resolve(address)  # the API's view: parameters parsed as for a real request

    def call():
        request = factory.get(address, HTTP_ACCEPT_ENCODING="gzip")
        response = match.func(request, *match.args, **match.kwargs)
        assert response.status_code == 200, response.status_code
        return response

    encoding.clear_order_cache()
    cache.clear()
    first = _time_ms(call)
    cold = []
    for _ in range(requests):
        cache.clear()
        cold.append(_time_ms(call))
    warm = [_time_ms(call) for _ in range(requests * 5)]
    response = call()
    body = gzip.decompress(response.content)
    ctx.log(
        f"availability: first {first:.1f} ms, cold p50 {statistics.median(cold):.1f} ms, "
        f"warm p50 {statistics.median(warm):.3f} ms, {len(response.content) / 1024:.1f} KB gzip"
    )
    return {
        "availability_ms": round(statistics.median(cold), 2),
        "availability_warm_ms": round(statistics.median(warm), 3),
        "availability_first_ms": round(first, 1),
        "availability_kb": round(len(response.content) / 1024, 1),
        "availability_raw_kb": round(len(body) / 1024, 1),
    }


def _best_available(ctx: Context, sale, requests: int) -> float:
    layout = sale.layout
    focal = (layout.focal_x, layout.focal_y)
    zone = sale.zones["A"]
    now = timezone.now()
    selectors.seat_snapshot(session=sale.session, now=now, zone=zone)  # geometry cached
    times = []
    for i in range(requests):
        k = 1 + i % 8

        def propose(k=k):
            snapshot = selectors.seat_snapshot(session=sale.session, now=now, zone=zone)
            find_blocks(snapshot, quantity=k, focal=focal, limit=1)

        times.append(_time_ms(propose))
    ctx.log(f"best available (zone A, k 1..8): p50 {statistics.median(times):.1f} ms")
    return round(statistics.median(times), 2)


def _overview_render(ctx: Context, sale, runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    from conftest import CHROMIUM_ARGS, chromium_path

    now = timezone.now()
    fan = make_buyers(count=1, prefix="seatmapfan")[0]
    cookie = sign_in_sessions(users=[fan], now=now)[fan.pk]
    run_dir = ROOT / "var" / "bench" / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    times, html_times = [], []
    with (
        Server(
            database_url=ctx.database_url, log_path=Path(run_dir) / "seatmap-server.log"
        ) as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            url = f"{server.base_url}/sessions/{sale.session.pk}/buy/"
            for i in range(runs + 1):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.add_cookies(
                    [{"name": "sessionid", "value": cookie, "url": server.base_url}]
                )
                page = context.new_page()
                page.goto(url)
                page.wait_for_selector("#seatmap[data-ready='1']", timeout=60_000)
                elapsed = float(page.get_attribute("#seatmap", "data-ready-at"))
                html = page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd")
                if i:  # the first run warms the server's caches
                    times.append(elapsed)
                    html_times.append(html)
                if i == runs:
                    for name, start, end in page.evaluate(
                        "performance.getEntriesByType('resource').map("
                        "e => [e.name.split('/').slice(-3).join('/'), e.startTime, e.responseEnd])"
                    ):
                        ctx.log(f"  {name}: {start:.0f} → {end:.0f} ms")
                    page.screenshot(path=run_dir / "seatmap-stadium.png")
                    page.focus(".sm-section[data-zone='A']")  # by keyboard: Tab, Enter
                    page.keyboard.press("Enter")
                    page.wait_for_selector(".sm-seat")
                    page.screenshot(path=run_dir / "seatmap-stadium-section.png")
                    ctx.log(f"screenshots in {run_dir}")
                context.close()
        finally:
            browser.close()
    ctx.log(
        f"overview render in Chromium: p50 {statistics.median(times):.0f} ms "
        f"(page HTML received after {statistics.median(html_times):.0f} ms)"
    )
    return {
        "overview_render_ms": round(statistics.median(times), 1),
        "overview_html_ms": round(statistics.median(html_times), 1),
    }


@group("seatmap", order=40, add_arguments=add_arguments)
def run(ctx: Context) -> dict:
    places = ctx.args.seatmap_places or (ctx.seats if ctx.quick else 60_000)
    requests = ctx.args.seatmap_requests or (10 if ctx.quick else 40)
    now = timezone.now()
    ctx.log(f"building a stadium of {places:,} places")
    _venue, layout, _spec = make_stadium(places=places, label="seatmap")
    sale = open_sale(layout=layout, label="seatmap", now=now)
    _mix_states(sale, sold_share=ctx.args.seatmap_sold, now=now)
    figures = {"places": sale.capacity, "seated": sale.seated}
    figures.update(_availability(ctx, sale, requests))
    figures["best_available_ms"] = _best_available(ctx, sale, requests)
    figures.update(_overview_render(ctx, sale, 3 if ctx.quick else 7))
    return figures
