"""Group ``checkin``: how fast gates check tickets and how fast offline scans merge.

Figures:

* ``verify_ms_per_scan``: mean time of one offline check in Chromium (Playwright) with the
  scanner's own module (``tessera/checkin/static/checkin/verify.js``: Base45, layout,
  Ed25519 via WebCrypto, revocation and rules), over many distinct credentials signed by the
  Python code; ``verify_ms_p50`` / ``verify_ms_p99`` per scan. Target <= 5 ms.
* ``server_verify_per_s``: ``checkin.services.judge_code`` calls per second on the server (one
  process, one thread: Ed25519 verification with ``cryptography`` and the gate rules).
* ``sync_100k_s``: wall time of merging 100,000 offline scans (``--checkin-scans``) through
  ``checkin.services.sync_scans`` in batches of 5,000 (what the sync endpoint calls), half of
  them the same tickets admitted at a second gate, so the replay flags 50,000 duplicates;
  ``sync_scans_per_s`` the same as a rate; ``sync_flagged`` the duplicates found.

``--quick``: 2,000 credentials in Chromium and 10,000 scans to sync.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from bench import Context, group
from bench.fixtures import make_stadium, open_sale
from tessera.checkin import selectors, services
from tessera.checkin.models import Gate
from tessera.tickets import credentials
from tessera.tickets import services as ticket_services

VERIFY_JS = Path(__file__).resolve().parent.parent / "tessera/checkin/static/checkin/verify.js"
ORIGIN = "http://localhost:9"  # never contacted: Playwright answers every request


def _arguments(parser):
    parser.add_argument("--checkin-scans", type=int, default=100_000, help="scans to sync")
    parser.add_argument(
        "--checkin-browser-codes", type=int, default=20_000, help="codes checked in Chromium"
    )


def _credentials(session, key, count: int, now) -> list[str]:
    until = ticket_services.credential_valid_until(session)
    secret = bytes(key.secret)
    out = []
    for ticket_id in range(1, count + 1):
        payload = credentials.Payload(
            ticket_id=ticket_id,
            session_id=session.pk,
            unit_id=ticket_id,
            not_before=now - timedelta(days=1),
            not_after=until,
            holder_digest=credentials.holder_digest("Bench Fan", ticket_id),
            version=1,
            key_id=key.kid,
        )
        out.append(credentials.sign(payload, secret))
    return out


BROWSER_RUN = """async ([bundle, codes]) => {
  const m = await import("/verify.js");
  const ctx = await m.buildContext(bundle);
  const times = [];
  const reasons = {};
  for (const code of codes) {
    const t0 = performance.now();
    const { reason } = await m.judge(ctx, code, { gateId: null });
    times.push(performance.now() - t0);
    reasons[reason] = (reasons[reason] || 0) + 1;
  }
  return { times, reasons };
}"""


def _browser(ctx: Context, bundle: dict, codes: list[str]) -> dict:
    from playwright.sync_api import sync_playwright

    from conftest import CHROMIUM_ARGS, chromium_path

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page()
            page.route(
                f"{ORIGIN}/verify.js",
                lambda route: route.fulfill(
                    body=VERIFY_JS.read_text("utf-8"), content_type="text/javascript"
                ),
            )
            page.route(
                f"{ORIGIN}/",
                lambda route: route.fulfill(body="<!doctype html><title>bench</title>"),
            )
            page.goto(f"{ORIGIN}/")
            result = page.evaluate(BROWSER_RUN, [bundle, codes])
        finally:
            browser.close()
    times = sorted(result["times"])
    if result["reasons"] != {"valid": len(codes)}:
        raise RuntimeError(f"the browser refused bench codes: {result['reasons']}")
    return {
        "verify_ms_per_scan": round(statistics.fmean(times), 3),
        "verify_ms_p50": round(times[len(times) // 2], 3),
        "verify_ms_p99": round(times[int(len(times) * 0.99)], 3),
        "verify_codes": len(codes),
    }


@group("checkin", order=60, add_arguments=_arguments)
def run(ctx: Context) -> dict:
    now = timezone.now()
    _venue, layout, _spec = make_stadium(places=400, label="checkin")
    sale = open_sale(layout=layout, label="checkin", now=now)
    session = sale.session
    key = ticket_services.get_or_create_signing_key(session=session, now=now)
    north = Gate.objects.create(session=session, name="北门", name_en="North")
    south = Gate.objects.create(session=session, name="南门", name_en="South")
    device, _token = services.register_device(
        organization=session.event.organization, name="Bench scanner", now=now
    )
    total = 10_000 if ctx.quick else ctx.args.checkin_scans
    tickets = total // 2
    started = time.perf_counter()
    codes = _credentials(session, key, tickets, now)
    ctx.log(f"signed {tickets} credentials in {time.perf_counter() - started:.1f} s")

    # server: judge_code per second
    rules = services.load_rules(session)
    sample = codes[: min(len(codes), 20_000)]
    started = time.perf_counter()
    for code in sample:
        if not services.judge_code(code, rules=rules, gate_id=None, direction="entry", now=now).ok:
            raise RuntimeError("the server refused a bench code")
    server_per_s = len(sample) / (time.perf_counter() - started)
    ctx.log(f"server: {server_per_s:,.0f} checks/s over {len(sample)} codes")

    # browser
    browser_codes = 2_000 if ctx.quick else ctx.args.checkin_browser_codes
    bundle = json.loads(
        json.dumps(selectors.device_bundle(session=session, include_names=False, now=now))
    )
    figures = _browser(ctx, bundle, codes[: min(browser_codes, len(codes))])
    ctx.log(
        f"chromium: {figures['verify_ms_per_scan']} ms per scan "
        f"(p99 {figures['verify_ms_p99']} ms) over {figures['verify_codes']} codes"
    )

    # sync: every ticket admitted at the north gate, then again at the south gate later
    scans = []
    base = now - timedelta(minutes=30)
    for i, code in enumerate(codes):
        for gate, offset in ((north, 0), (south, 60)):
            scans.append(
                services.OfflineScan(
                    uuid=uuid.uuid4(),
                    gate_id=gate.pk,
                    direction="entry",
                    text=code,
                    scanned_at=base + timedelta(milliseconds=i * 10 + offset * 1000),
                    is_accepted=True,
                    reason="valid",
                )
            )
    scans.sort(key=lambda s: s.scanned_at)
    flagged = 0
    started = time.perf_counter()
    sync_rules = services.load_rules(session)
    for i in range(0, len(scans), services.MAX_SYNC_BATCH):
        result = services.sync_scans(
            device=device,
            session=session,
            scans=scans[i : i + services.MAX_SYNC_BATCH],
            now=timezone.now(),
            rules=sync_rules,
        )
        flagged += len(result.flagged)
    sync_s = time.perf_counter() - started
    ctx.log(f"sync: {len(scans)} scans in {sync_s:.1f} s, {flagged} flagged")
    if flagged != tickets:
        raise RuntimeError(f"expected {tickets} duplicates, got {flagged}")
    return {
        **figures,
        "server_verify_per_s": round(server_per_s),
        "sync_100k_s": round(sync_s, 2),
        "sync_scans": len(scans),
        "sync_scans_per_s": round(len(scans) / sync_s),
        "sync_flagged": flagged,
    }
