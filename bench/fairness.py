"""Group ``fairness``: an on-sale simulator. Genuine fans and a bot fleet go through the
waiting room and the checkout of one session over HTTP against the production server (the
same ``bench.server.Server`` as the purchase group), and the figures say who got the tickets
and what each defence refused.

* The sale: ``--fairness-seats`` places (default 2,000; fewer than a stadium's 134 are the
  first places of a small stadium, the rest blocked), at most ``--fairness-max-per-account``
  (6) tickets an account, behind a waiting room whose random pre-queue lasts
  ``--fairness-prequeue-s`` after the server started, then first come, first served; the
  room admits at a rate that lets every account in within ``--fairness-admit-s``.
* Genuine fans (``--fairness-fans``, 950): one thread and one device each (the
  ``tessera_device`` cookie of their first page load), their own network address
  (``X-Real-IP``, the server started with ``TESSERA_CLIENT_IP_HEADER``) and payer; they arrive
  over the pre-queue (80 %) or after the opening, sign in (``--fairness-signins`` of them over
  HTTP, the others with a session cookie made beforehand: an Argon2 check costs ~0.5 s of CPU),
  join, poll the queue every ~4 s, then with seconds of think time between steps hold 1–4
  places, order them, start a sandbox payment, pay at the cashier and wait for the tickets.
* Bots (``--fairness-bots``, 50): fast and regular (no jitter), three shared devices (each
  bot carries one of three device cookies and that device's address) and three payers, half
  joining at the start of the pre-queue and half at the opening, polling ``--fairness-bot-
  interval`` apart (default: the rate that makes them send as many requests as all fans),
  always asking for the per-account maximum, retrying on every refusal, solving proof-of-work
  challenges, honouring ``Retry-After`` unless ``--fairness-bots-ignore-retry-after``; after
  their purchase they watch the session's availability until the sale ends.

Every answer refused by a defence is counted by status and code (``429 rate_limited``,
``428 challenge_required``, ``403 risk_refused``/``challenge_invalid``, ``409 limit_*``), and
per account, for the false positives among fans. Any request that gets 428 is repeated with
``X-Tessera-Proof: <challenge>:<nonce>`` (sha256 with ``difficulty`` leading zero bits).

Defences in the fixture (``--fairness-defences on``, the default): the event's purchase
limits per device and payment account (``LIMITS_KNOBS``, ``--fairness-limit``), the
production rate limits, risk control's scores; ``--fairness-under-attack`` switches the room
under attack. ``--fairness-session-field`` / ``--fairness-room-field name=value`` set model
fields, ``--fairness-server-env NAME=VALUE`` passes settings to the server.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from django.db.models import Count

from bench import Context, group
from bench.fixtures import BUYER_PASSWORD, make_buyers, make_stadium, open_sale, sign_in_sessions
from bench.http_buyer import Answer, Client, Disconnected, Stats
from bench.purchase import verify
from bench.server import Server
from tessera.core.clock import now as clock_now

ROOT = Path(__file__).resolve().parent.parent
PAY_TIMEOUT_S = 300  # a fan keeps the order page open this long for the tickets
MIN_STADIUM = 200  # a generated stadium has at least 134 places: smaller sales block the rest

# Fields of the session set when the defences are on (``--fairness-session-field`` adds
# more; a name the model does not have is listed as missing in the figures).
SESSION_KNOBS: dict[str, object] = {}
# The purchase limits (tessera.limits) of the event when the defences are on: one device
# and one payment account buy at most what one account may (the address range stays off:
# a carrier's gateway is many fans).
LIMITS_KNOBS = {"device_per_session": 6, "payer_per_session": 6}
ROOM_KNOBS: dict[str, object] = {}
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
FAN_AGENTS = (
    CHROME + "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
)
BOT_AGENT = CHROME + "HeadlessChrome/131.0.0.0 Safari/537.36"
LIMIT_PREFIX = "limit_"
RISK_CODES = ("risk_refused", "challenge_invalid")


def add_arguments(parser) -> None:
    add = parser.add_argument
    add("--fairness-fans", type=int, default=None, help="genuine fans (950; quick 190)")
    add("--fairness-bots", type=int, default=None, help="bot accounts (50; quick 10)")
    add("--fairness-seats", type=int, default=None, help="places (2,000; quick 400)")
    add("--fairness-max-per-account", type=int, default=6, help="tickets per account (6)")
    add("--fairness-prequeue-s", type=float, default=None, help="pre-queue seconds (30; quick 12)")
    add("--fairness-admit-s", type=float, default=None, help="admit everyone in (90; quick 30)")
    add("--fairness-think", type=float, default=None, help="fans' think-time scale (1; quick 0.4)")
    add("--fairness-signins", type=int, default=None, help="fans signing in over HTTP (20; q 4)")
    add("--fairness-fan-poll", type=float, default=4.0, help="fans' queue poll seconds (4)")
    add("--fairness-bot-interval", type=float, default=None, help="bots' seconds between requests")
    add("--fairness-bot-scrapers", type=int, default=1, help="availability connections a bot (1)")
    add(
        "--fairness-bots-ignore-retry-after",
        action="store_true",
        help="bots retry at their own pace after a 429",
    )
    add("--fairness-cap", type=float, default=600.0, help="stop the on-sale after (600 s)")
    add(
        "--fairness-limit",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a purchase limit of the event (tessera.limits), e.g. device_per_session=4",
    )
    add(
        "--fairness-under-attack",
        action="store_true",
        help="switch the room under attack (every join and hold needs a proof of work)",
    )
    add("--fairness-defences", choices=("on", "off"), default="on", help="fixture knobs (on)")
    add("--fairness-session-field", action="append", default=[], metavar="NAME=VALUE")
    add("--fairness-room-field", action="append", default=[], metavar="NAME=VALUE")
    add("--fairness-server-env", action="append", default=[], metavar="NAME=VALUE")
    add("--fairness-seed", type=int, default=16)


# -- proof of work --------------------------------------------------------------------------------


def solve(challenge: str, difficulty: int) -> str:
    """A decimal nonce such that sha256(challenge:nonce) has ``difficulty`` leading zero bits."""
    shift = 256 - max(0, min(int(difficulty), 64))
    prefix = (challenge + ":").encode()
    for nonce in itertools.count():
        digest = hashlib.sha256(prefix + str(nonce).encode()).digest()
        if int.from_bytes(digest, "big") >> shift == 0:
            return str(nonce)
    raise AssertionError("unreachable")


def defence_of(status: int, code: str) -> str | None:
    """The defence that refused an answer, or None when it is not a defence's refusal."""
    if status == 429:
        return "rate_limited"
    if status == 428:
        return "challenge_required"
    if status == 403 and code in RISK_CODES:
        return code
    if status in (409, 422) and code.startswith(LIMIT_PREFIX):  # 422: the account limit
        return code
    return None


# -- actors ---------------------------------------------------------------------------------------


@dataclass
class Actor:
    kind: str  # "fan" or "bot"
    index: int
    user_id: int
    username: str
    session_key: str
    address: str
    payer: str
    agent: str
    http_signin: bool
    arrive_at: float  # seconds after the start
    device: str | None = None  # a shared device cookie (bots)
    device_seen: str | None = None  # the device cookie the actor holds after its first page
    requests: int = 0
    refused: Counter = field(default_factory=Counter)  # defence → count
    challenges: int = 0
    joined_at: float | None = None
    admitted_at: float | None = None
    bought_at: float | None = None
    tickets: int = 0
    outcome: str = "pending"
    buying: bool = False  # admitted and not done yet


class Agent(Client):
    """The HTTP client of one actor: the keep-alive connection and cookie jar of
    ``bench.http_buyer.Client`` plus browser headers, an address and a proof header."""

    def __init__(self, base_url: str, stats: Stats, actor: Actor):
        super().__init__(base_url, stats, timeout=60.0)
        self.actor = actor
        self.extra = {"User-Agent": actor.agent, "X-Real-IP": actor.address}
        if actor.kind == "fan":
            self.extra |= {
                "Accept-Encoding": "gzip, deflate, br",
                "Sec-CH-UA": '"Chromium";v="131", "Not_A Brand";v="24"',
                "Sec-CH-UA-Platform": '"Windows"',
            }

    def request(
        self,
        step: str,
        method: str,
        path: str,
        *,
        json_body=None,
        form: dict | None = None,
        headers: dict | None = None,
    ) -> Answer:
        sent = {"Accept": "application/json", "Accept-Language": "en", **self.extra}
        sent |= headers or {}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        elif form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if method != "GET" and "csrftoken" in self.cookies:
            sent["X-CSRFToken"] = self.cookies["csrftoken"]
            sent["Referer"] = f"http://{self.host}:{self.port}/"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            answer = self._send(method, path, body, sent)
        except Exception as exc:
            self.close()
            self.stats.error(f"{step}:disconnected")
            raise Disconnected(f"{method} {path}: {exc!r}") from exc
        self.stats.timed(step, (time.perf_counter() - started) * 1000)
        return answer


class OnSale:
    """The fans and bots of one on-sale, each a thread, and what they met."""

    def __init__(self, *, base_url, session_id, room_id, zones, actors, args, quick, started):
        self.base_url = base_url
        self.session_id = session_id
        self.room_id = room_id
        self.zones = zones  # [(zone id, capacity)]
        self.actors = actors
        self.args = args
        self.started = started
        self.opens_after = 0.0  # seconds from the start to the room's opening
        self.stats = Stats()
        self.lock = threading.Lock()
        self.answers: Counter = Counter()  # (kind, status, code) for every answer >= 400
        self.examples: dict[str, str] = {}  # "status code" → the first message
        self.requests: Counter = Counter()  # kind → requests
        self.stop = threading.Event()
        self.sold_out = threading.Event()
        self.think_scale = args.fairness_think
        self.max_per_account = args.fairness_max_per_account
        self.honour = not args.fairness_bots_ignore_retry_after
        self.bot_interval = args.fairness_bot_interval
        self.device_cookies: dict[int, str] = {}

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def pause(self, seconds: float) -> bool:
        """Sleep; False when the on-sale was stopped meanwhile."""
        return not self.stop.wait(max(0.0, seconds))

    def think(self, rng: random.Random, low: float, high: float) -> bool:
        return self.pause(rng.uniform(low, high) * self.think_scale)

    # one request, with the defences' answers handled as a browser or a bot does
    def call(self, agent: Agent, rng, step, method, path, *, json_body=None, form=None) -> Answer:
        actor = agent.actor
        proof = None
        attempts = 0
        while True:
            attempts += 1
            headers = {"X-Tessera-Proof": proof} if proof else None
            sent_form = dict(form) if form is not None else None
            if proof and sent_form is not None:
                sent_form["tessera_proof"] = proof
            answer = agent.request(
                step, method, path, json_body=json_body, form=sent_form, headers=headers
            )
            proof = None
            code = answer.error_code if answer.status >= 400 else ""
            defence = defence_of(answer.status, code)
            with self.lock:
                actor.requests += 1
                self.requests[actor.kind] += 1
                if answer.status >= 400:
                    self.answers[(actor.kind, answer.status, code)] += 1
                    if f"{answer.status} {code}" not in self.examples:
                        error = answer.json() if answer.body[:1] == b"{" else None
                        message = (error or {}).get("error") if isinstance(error, dict) else None
                        message = message or answer.body[:120].decode("utf-8", "replace")
                        self.examples[f"{answer.status} {code}"] = json.dumps(
                            message, ensure_ascii=False
                        )[:300]
                if defence:
                    actor.refused[defence] += 1
            if answer.status == 428 and attempts <= 5:
                details = ((answer.json() or {}).get("error") or {}).get("details") or {}
                challenge = str(details.get("challenge", ""))
                if challenge:
                    with self.lock:
                        actor.challenges += 1
                    nonce = solve(challenge, int(details.get("difficulty", 0) or 0))
                    proof = f"{challenge}:{nonce}"
                    continue
            if answer.status == 429 and attempts <= (20 if actor.kind == "bot" else 5):
                retry_after = _float(answer.headers.get("Retry-After"), 1.0)
                if actor.kind == "fan":  # the page says "try again in N s"; the fan does
                    wait = retry_after + rng.uniform(0.5, 2.0) * self.think_scale
                elif self.honour:
                    wait = retry_after
                else:
                    wait = self.bot_interval
                if self.pause(min(wait, 30.0)):
                    continue
            risky = answer.status == 403 and code in RISK_CODES and attempts <= 3
            if risky and self.pause(
                self.bot_interval if actor.kind == "bot" else rng.uniform(2, 5)
            ):
                continue
            return answer

    # steps shared by fans and bots
    def load_first_page(self, agent: Agent, rng) -> None:
        actor = agent.actor
        if actor.device:
            agent.cookies["tessera_device"] = actor.device
        self.call(agent, rng, "page", "GET", "/accounts/login/")
        actor.device_seen = agent.cookies.get("tessera_device")

    def sign_in(self, agent: Agent, rng) -> bool:
        actor = agent.actor
        if not actor.http_signin:
            agent.cookies["sessionid"] = actor.session_key
            return True
        answer = self.call(
            agent,
            rng,
            "signin",
            "POST",
            "/accounts/login/",
            form={
                "username": actor.username,
                "password": BUYER_PASSWORD,
                "csrfmiddlewaretoken": agent.cookies.get("csrftoken", ""),
            },
        )
        if answer.status == 302 and "sessionid" in agent.cookies:
            return True
        actor.outcome = f"signin_{answer.status}_{answer.error_code}"
        return False

    def join(self, agent: Agent, rng) -> str | None:
        answer = self.call(
            agent, rng, "join", "POST", f"/api/v1/waitingrooms/{self.room_id}/entries"
        )
        if answer.status != 201:
            agent.actor.outcome = f"join_{answer.status}_{answer.error_code}"
            return None
        agent.actor.joined_at = self.elapsed()
        return answer.json()["token"]

    def wait_in_line(self, agent: Agent, rng, token: str, interval) -> bool:
        actor = agent.actor
        while not self.stop.is_set():
            answer = self.call(agent, rng, "status", "GET", f"/queue/-/status?t={token}")
            data = answer.json() if answer.status == 200 else None
            if isinstance(data, dict):
                token = data.get("token") or token
                if data.get("admitted"):
                    actor.admitted_at = self.elapsed()
                    actor.buying = True
                    return True
                if data.get("sold_out") or data.get("state") in ("sold_out", "closed"):
                    actor.outcome = "sold_out_in_line"
                    return False
                if data.get("state") == "expired":
                    actor.outcome = "pass_expired"
                    return False
            if self.sold_out.is_set():
                actor.outcome = "sold_out_in_line"
                return False
            if not self.pause(interval()):
                break
        actor.outcome = actor.outcome if actor.outcome != "pending" else "stopped_in_line"
        return False

    def pay(
        self, agent: Agent, rng, payment: dict, status_url: str | None, places: int, tick=None
    ) -> bool:
        """Pay at the sandbox cashier, then read the order until its tickets are issued: a
        bot reads the order token's status (``status_url``) every tick, a fan the order
        every ~2 s as its page does (``payment["order_number"]``). Neither uses the status
        long poll (``wait``): a thousand clients waiting in it would take every web thread."""
        actor = agent.actor
        cashier = urlsplit(payment["cashier_url"])
        answer = self.call(
            agent,
            rng,
            "cashier",
            "POST",
            cashier.path + (f"?{cashier.query}" if cashier.query else ""),
            form={
                "choice": "pay",
                "payer": actor.payer,
                "csrfmiddlewaretoken": agent.cookies.get("csrftoken", ""),
            },
        )
        if answer.status not in (200, 302, 303):
            actor.outcome = f"cashier_{answer.status}_{answer.error_code}"
            return False
        deadline = time.monotonic() + PAY_TIMEOUT_S
        while time.monotonic() < deadline:
            if status_url:
                if not self.pause(tick()):
                    return False
                answer = self.call(agent, rng, "order_status", "GET", status_url)
            else:
                if not self.pause(rng.uniform(1.5, 2.5)):
                    return False
                number = payment["order_number"]
                answer = self.call(agent, rng, "order_read", "GET", f"/api/v1/orders/{number}")
            state = (answer.json() or {}).get("status") if answer.status == 200 else None
            if state == "fulfilled":
                actor.tickets += places
                actor.bought_at = self.elapsed()
                return True
            if state not in ("pending_payment", "paid"):
                actor.outcome = f"order_{state or answer.error_code}"
                return False
            retry_after = answer.headers.get("Retry-After")
            if retry_after and not self.pause(min(_float(retry_after, 1.0), 2.0)):
                return False
        actor.outcome = "order_timeout"
        return False

    def zone_order(self, rng) -> list[int]:
        ids = [z for z, _ in self.zones]
        weights = [c for _, c in self.zones]
        first = rng.choices(ids, weights=weights)[0]
        return [first] + [z for z in ids if z != first]

    # a genuine fan
    def fan(self, actor: Actor) -> None:
        rng = random.Random(self.args.fairness_seed * 100_003 + actor.index)
        agent = Agent(self.base_url, self.stats, actor)
        try:
            if not self.pause(actor.arrive_at - self.elapsed()):
                return
            self.load_first_page(agent, rng)
            if not self.think(rng, 2, 6) or not self.sign_in(agent, rng):
                return
            if not self.think(rng, 1, 3):
                return
            token = self.join(agent, rng)
            poll = self.args.fairness_fan_poll
            if token is None or not self.wait_in_line(
                agent, rng, token, lambda: rng.uniform(0.75 * poll, 1.25 * poll)
            ):
                return
            quantity = rng.choices((1, 2, 3, 4), weights=(2, 4, 2, 2))[0]
            for attempt in range(6):
                if not self.think(rng, 2, 6):  # looks at the seat map, chooses
                    return
                held = self.fan_hold(agent, rng, quantity)
                if held == "sold_out":
                    actor.outcome = "sold_out"
                    return
                if held == "refused":
                    if attempt >= 2:
                        return
                    continue
                hold_id, places = held
                if not self.think(rng, 3, 8):  # the checkout page: contact, attendees
                    return
                answer = self.call(
                    agent, rng, "order", "POST", f"/api/v1/holds/{hold_id}/order", json_body={}
                )
                if answer.status != 201:
                    actor.outcome = f"order_{answer.status}_{answer.error_code}"
                    continue
                number = answer.json()["number"]
                if not self.think(rng, 1, 3):
                    return
                answer = self.call(
                    agent,
                    rng,
                    "payment",
                    "POST",
                    f"/api/v1/orders/{number}/payments",
                    json_body={"provider": "sandbox"},
                )
                if answer.status != 201:
                    actor.outcome = f"payment_{answer.status}_{answer.error_code}"
                    continue
                payment = answer.json()
                if not self.think(rng, 2, 5):  # the cashier's page
                    return
                if self.pay(agent, rng, payment, None, places):
                    actor.outcome = "bought"
                return
        except Disconnected:
            actor.outcome = "disconnected"
        except Exception as exc:  # an answer we did not expect: count it
            actor.outcome = f"error_{type(exc).__name__}"
            self.stats.error(f"fan:{type(exc).__name__}:{exc}"[:120])
        finally:
            actor.buying = False
            agent.close()

    def fan_hold(self, agent: Agent, rng, quantity: int):
        """(hold id, places), "sold_out" or "refused" (by a defence or anything else)."""
        for tried, zone in enumerate(self.zone_order(rng)):
            # a person looks at the map again before trying another zone
            if tried and not self.think(rng, 0.5, 2):
                return "refused"
            answer = self.call(
                agent,
                rng,
                "hold",
                "POST",
                f"/api/v1/sessions/{self.session_id}/holds",
                json_body={"zone": zone, "quantity": quantity},
            )
            if answer.status == 201:
                data = answer.json()
                return data["id"], int(data.get("quantity") or quantity)
            code = answer.error_code
            if code != "places_unavailable":
                agent.actor.outcome = f"hold_{answer.status}_{code}"
                return "refused"
        if quantity > 1:
            return self.fan_hold(agent, rng, 1)
        return "sold_out"

    # a bot
    def ticker(self):
        """A bot's clock: the pause to the next tick, ``bot_interval`` apart from the last
        (a fixed rate, whatever the answers took)."""
        next_at = [time.monotonic()]

        def wait() -> float:
            next_at[0] = max(next_at[0] + self.bot_interval, time.monotonic())
            return next_at[0] - time.monotonic()

        return wait

    def scraper(self, actor: Actor) -> None:
        """A bot's second connection: the session's availability, every tick from its
        arrival until the sale ends (what it picks zones by)."""
        rng = random.Random(actor.index)
        agent = Agent(self.base_url, self.stats, actor)
        tick = self.ticker()
        try:
            if not self.pause(actor.arrive_at - self.elapsed() + 0.5):
                return
            agent.cookies["sessionid"] = actor.session_key
            if actor.device:
                agent.cookies["tessera_device"] = actor.device
            path = f"/api/v1/sessions/{self.session_id}/availability"
            while not self.sold_out.is_set() and self.pause(tick()):
                self.call(agent, rng, "availability", "GET", path)
        except Disconnected:
            pass
        finally:
            agent.close()

    def bot(self, actor: Actor) -> None:
        rng = random.Random(self.args.fairness_seed * 7 + actor.index)
        agent = Agent(self.base_url, self.stats, actor)
        tick = self.ticker()
        scrapers = [
            threading.Thread(target=self.scraper, args=(actor,), daemon=True)
            for _ in range(self.args.fairness_bot_scrapers)
        ]
        for scraper in scrapers:
            scraper.start()
        try:
            if not self.pause(actor.arrive_at - self.elapsed()):
                return
            self.load_first_page(agent, rng)
            token = None
            for _ in range(20):
                if self.sign_in(agent, rng):
                    token = self.join(agent, rng)
                    if token:
                        break
                if not self.pause(tick()):
                    return
            if token is None or not self.wait_in_line(agent, rng, token, tick):
                return
            quantity = self.max_per_account
            for _attempt in range(12):
                result = self.bot_checkout(agent, rng, quantity)
                if result == "sold_out":
                    actor.outcome = "sold_out" if not actor.tickets else "bought"
                    break
                if isinstance(result, tuple):
                    payment, status_url, places = result
                    if self.pay(agent, rng, payment, status_url, places, tick):
                        actor.outcome = "bought"
                    continue  # always the maximum again
                code = result
                if code.startswith(LIMIT_PREFIX):
                    if quantity == 1:
                        break
                    quantity = max(1, quantity // 2)
                if not self.pause(tick()):
                    return
            actor.buying = False
            # watch for places coming back until the sale ends
            while not self.stop.is_set() and not self.sold_out.is_set():
                self.call(
                    agent,
                    rng,
                    "availability",
                    "GET",
                    f"/api/v1/sessions/{self.session_id}/availability",
                )
                if not self.pause(tick()):
                    return
        except Disconnected:
            actor.outcome = "disconnected"
        except Exception as exc:
            actor.outcome = f"error_{type(exc).__name__}"
            self.stats.error(f"bot:{type(exc).__name__}:{exc}"[:120])
        finally:
            actor.buying = False
            if actor.tickets:
                actor.outcome = "bought"
            agent.close()
            for scraper in scrapers:
                scraper.join(timeout=5)

    def bot_checkout(self, agent: Agent, rng, quantity: int):
        """(payment, status url, places), "sold_out", or the refusal's code."""
        code = "places_unavailable"
        for zone in self.zone_order(rng):
            answer = self.call(
                agent,
                rng,
                "checkout",
                "POST",
                f"/api/v1/sessions/{self.session_id}/checkout",
                json_body={"zone": zone, "quantity": quantity, "provider": "sandbox"},
            )
            if answer.status == 201:
                data = answer.json()
                return data["payment"], data["status_url"], len(data["order"]["lines"])
            code = answer.error_code
            if code != "places_unavailable":
                agent.actor.outcome = f"checkout_{answer.status}_{code}"
                return code
        if quantity > 1:
            return self.bot_checkout(agent, rng, max(1, quantity // 2))
        return "sold_out"

    def progress(self) -> str:
        with self.lock:
            actors = list(self.actors)
            requests = dict(self.requests)
        joined = sum(a.joined_at is not None for a in actors)
        admitted = sum(a.admitted_at is not None for a in actors)
        tickets = {k: sum(a.tickets for a in actors if a.kind == k) for k in ("fan", "bot")}
        return (
            f"{self.elapsed():.0f} s: {joined} joined, {admitted} admitted, tickets {tickets}, "
            f"requests {requests}"
        )

    def run(self, cap: float, room_done, log=None) -> float:
        threads = [
            threading.Thread(
                target=self.fan if a.kind == "fan" else self.bot, args=(a,), daemon=True
            )
            for a in self.actors
        ]
        for t in threads:
            t.start()
        deadline = self.started + cap
        next_log = time.monotonic() + 15
        while any(t.is_alive() for t in threads):
            if time.monotonic() > deadline:
                break
            if room_done(any(a.buying for a in self.actors)):
                self.sold_out.set()
            if log is not None and time.monotonic() >= next_log:
                log(self.progress())
                next_log += 15
            time.sleep(0.5)
        finished = self.elapsed()
        self.stop.set()
        for t in threads:
            t.join(timeout=30)
        return finished


def _float(value, default: float) -> float:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return default


def _pairs(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        name, _, raw = item.partition("=")
        try:
            out[name.strip()] = json.loads(raw)
        except ValueError:
            out[name.strip()] = raw
    return out


def purchase_limits(session, wanted: dict[str, object]) -> list[str]:
    """The event's ``PurchaseLimits`` row with ``wanted``; what was set."""
    from tessera.limits.models import PurchaseLimits

    limits, _created = PurchaseLimits.objects.get_or_create(event=session.event, session=None)
    applied = []
    for name, value in wanted.items():
        setattr(limits, name, int(value))
        applied.append(f"limits.{name}={value}")
    limits.save()
    return applied


def apply_knobs(obj, wanted: dict[str, object]) -> tuple[list[str], list[str]]:
    """Set the fields of ``wanted`` that ``obj``'s model has; (applied, missing)."""
    names = {f.name for f in obj._meta.get_fields() if getattr(f, "concrete", False)}
    applied, missing = [], []
    for name, value in wanted.items():
        if name in names:
            setattr(obj, name, value)
            applied.append(f"{name}={value}")
        else:
            missing.append(name)
    if applied:
        obj.save(update_fields=[a.split("=", 1)[0] for a in applied])
    return applied, missing


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _share(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


@group("fairness", order=45, add_arguments=add_arguments)
def run(ctx: Context) -> dict:
    from tessera.inventory.models import InventoryUnit
    from tessera.tickets.models import Ticket
    from tessera.waitingroom import services as rooms
    from tessera.waitingroom.models import WaitingRoom

    args = ctx.args
    quick = ctx.quick
    fans_n = args.fairness_fans if args.fairness_fans is not None else (190 if quick else 950)
    bots_n = args.fairness_bots if args.fairness_bots is not None else (10 if quick else 50)
    seats = args.fairness_seats or (400 if quick else 2000)
    prequeue_s = args.fairness_prequeue_s or (12.0 if quick else 30.0)
    admit_s = args.fairness_admit_s or (30.0 if quick else 90.0)
    if args.fairness_think is None:
        args.fairness_think = 0.4 if quick else 1.0
    signins = args.fairness_signins if args.fairness_signins is not None else (4 if quick else 20)
    if args.fairness_bot_interval is None:
        # 1 + scrapers streams a bot (queue or checkout, and availability): as many requests
        # from the bots as from all fans polling the queue
        streams = 1 + max(0, args.fairness_bot_scrapers)
        args.fairness_bot_interval = max(
            0.05, streams * args.fairness_fan_poll * bots_n / max(1, fans_n)
        )
    rng = random.Random(args.fairness_seed)
    run_dir = ROOT / "var" / "bench" / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)

    now = clock_now()
    _venue, layout, _spec = make_stadium(places=max(seats, MIN_STADIUM), label="fairness")
    sale = open_sale(layout=layout, label="fairness", now=now)
    session = sale.session
    units = InventoryUnit.objects.filter(session=session)
    if sale.capacity > seats:  # a small sale: the first places, the rest blocked
        keep = list(units.order_by("id").values_list("id", flat=True)[:seats])
        units.exclude(id__in=keep).update(status="blocked")
        sale.capacity = seats
    session.max_tickets_per_account = args.fairness_max_per_account
    session.max_tickets_per_order = max(args.fairness_max_per_account, 4)
    session.save(update_fields=["max_tickets_per_account", "max_tickets_per_order"])
    session_knobs = dict(SESSION_KNOBS) if args.fairness_defences == "on" else {}
    session_knobs |= _pairs(args.fairness_session_field)
    session_applied, session_missing = apply_knobs(session, session_knobs)
    if args.fairness_defences == "on":
        session_applied += purchase_limits(session, LIMITS_KNOBS | _pairs(args.fairness_limit))
    zones = [
        (zone_id, n)
        for zone_id, n in units.filter(status="available")
        .values("zone_id")
        .annotate(n=Count("id"))
        .values_list("zone_id", "n")
        if n
    ]

    fans = make_buyers(count=fans_n, prefix="fairfan")
    bots = make_buyers(count=bots_n, prefix="fairbot")
    keys = sign_in_sessions(users=fans + bots, now=now)
    late_fans = 0.2
    actors: list[Actor] = []
    for i, user in enumerate(fans):
        arrive = (
            rng.uniform(0, prequeue_s * 0.5)  # page, sign-in and join take seconds more
            if rng.random() > late_fans
            else prequeue_s + rng.uniform(0, admit_s * 0.5)
        )
        actors.append(
            Actor(
                kind="fan",
                index=i,
                user_id=user.pk,
                username=user.username,
                session_key=keys[user.pk],
                address=f"10.{1 + i // 62_500 % 250}.{i // 250 % 250}.{1 + i % 250}",
                payer=f"fan-payer-{i}",
                agent=FAN_AGENTS[i % len(FAN_AGENTS)],
                http_signin=i < signins,
                arrive_at=arrive,
            )
        )
    for i, user in enumerate(bots):
        device = i % 3
        actors.append(
            Actor(
                kind="bot",
                index=i,
                user_id=user.pk,
                username=user.username,
                session_key=keys[user.pk],
                address=f"172.16.0.{1 + device}",
                payer=f"bot-payer-{i % 3}",
                agent=BOT_AGENT,
                http_signin=True,
                # half in the pre-queue's first second, half at the opening
                arrive_at=(0.0 if i % 2 == 0 else prequeue_s) + 0.02 * (i // 2),
            )
        )
    ctx.log(
        f"session {session.pk}: {sale.capacity:,} places, {fans_n} fans, {bots_n} bots "
        f"({_share(bots_n, fans_n + bots_n)} % of accounts), bot interval "
        f"{args.fairness_bot_interval:.3f} s; knobs {session_applied or 'none'} "
        f"(missing: {', '.join(session_missing) or 'none'})"
    )

    env = {"TESSERA_CLIENT_IP_HEADER": "HTTP_X_REAL_IP"}
    if args.fairness_defences == "on":
        # every actor has an address and a device of its own here: the rate limits as a
        # production server has them (the purchase bench turns the address and device off)
        env["TESSERA_RATELIMITS"] = "{}"
        # and risk control's automatic "under attack" at the production rate
        env["TESSERA_RISK_ATTACK_RATE"] = "600"
    env |= _pairs(args.fairness_server_env)
    env = {k: str(v) for k, v in env.items()}
    with Server(
        database_url=ctx.database_url,
        log_path=run_dir / "fairness-server.log",
        web_workers=1,
        web_threads=8,
        task_workers=1,
        extra_env=env,
    ) as srv:
        start_now, start_clock = clock_now(), time.monotonic()
        room = rooms.create_room(
            organization=session.event.organization,
            name="bench fairness",
            sessions=[session],
            prequeue_opens_at=start_now - timedelta(minutes=1),
            opens_at=start_now + timedelta(seconds=prequeue_s),
            rate_per_minute=max(1, round((fans_n + bots_n) * 60 / admit_s)),
            max_active_shoppers=max(1, fans_n + bots_n),
            pass_minutes=15,
            now=start_now,
        )
        room_knobs = dict(ROOM_KNOBS) if args.fairness_defences == "on" else {}
        room_knobs |= _pairs(args.fairness_room_field)
        room_applied, room_missing = apply_knobs(room, room_knobs)
        if args.fairness_under_attack:
            from tessera.risk import services as risk

            # the organizer's switch: every join and hold needs a proof of work
            risk.set_under_attack(actor=None, on=True, now=start_now, room=room)
            room_applied.append("risk.under_attack=on")
        started = time.monotonic()
        # the three bot devices: each a cookie from one real first page load
        sim = OnSale(
            base_url=srv.base_url,
            session_id=session.pk,
            room_id=room.pk,
            zones=zones,
            actors=actors,
            args=args,
            quick=quick,
            started=started,
        )
        sim.opens_after = prequeue_s - (started - start_clock)
        for device in range(min(3, bots_n)):
            first = next(a for a in actors if a.kind == "bot" and a.index % 3 == device)
            probe = Agent(srv.base_url, sim.stats, first)
            probe.request("page", "GET", "/accounts/login/")
            probe.close()
            for a in actors:
                if a.kind == "bot" and a.index % 3 == device:
                    a.device = probe.cookies.get("tessera_device")

        def room_done(someone_buying: bool) -> bool:
            """The room says sold out, or no place is free and nobody is still buying (a
            hold that will not be paid comes back only when it expires)."""
            state = WaitingRoom.objects.filter(pk=room.pk).values_list("status", flat=True).first()
            if state in ("sold_out", "closed"):
                return True
            statuses = ("available",) if not someone_buying else ("available", "held")
            return not units.filter(status__in=statuses).exists()

        ctx.log(f"room {room.pk}: pre-queue {prequeue_s:.0f} s, then FCFS; on-sale running")
        on_sale_s = sim.run(args.fairness_cap, room_done, log=ctx.log)

    checks = verify(sale)
    by_user = dict(
        Ticket.objects.filter(session=session, status="valid")
        .values("order_line__order__user_id")
        .annotate(n=Count("id"))
        .values_list("order_line__order__user_id", "n")
    )
    result = summarize(sim, by_user=by_user, checks=checks, on_sale_s=on_sale_s)
    result["knobs"] = {
        "session": session_applied,
        "room": room_applied,
        "server_env": sorted(env),
        "missing": session_missing + room_missing,
    }
    result["bot_interval_s"] = round(args.fairness_bot_interval, 3)
    result["bots_honour_retry_after"] = sim.honour
    for line in report_lines(result):
        ctx.log(line)
    return result


def summarize(sim: OnSale, *, by_user: dict[int, int], checks: dict, on_sale_s: float) -> dict:
    fans = [a for a in sim.actors if a.kind == "fan"]
    bots = [a for a in sim.actors if a.kind == "bot"]
    tickets_fans = sum(by_user.get(a.user_id, 0) for a in fans)
    tickets_bots = sum(by_user.get(a.user_id, 0) for a in bots)
    tickets = sum(by_user.values())
    accounts = len(fans) + len(bots)
    refused: dict[str, dict[str, int]] = {}
    others: dict[str, int] = {}
    for (kind, status, code), n in sorted(sim.answers.items()):
        defence = defence_of(status, code)
        if defence:
            refused.setdefault(f"{status} {code}", {"fan": 0, "bot": 0})[kind] += n
        else:
            others[f"{kind} {status} {code}"] = n
    refused_fans = [
        a for a in fans if sum(v for k, v in a.refused.items() if k != "challenge_required")
    ]
    challenged_fans = [a for a in fans if a.challenges]
    blocked_fans = [
        a
        for a in fans
        if not by_user.get(a.user_id)
        and sum(v for k, v in a.refused.items() if k != "challenge_required")
        and not a.outcome.startswith("sold_out")
    ]
    bought = [a for a in fans if by_user.get(a.user_id)]
    seen = [a for a in fans if a.tickets and a.bought_at is not None]
    purchase_s = [a.bought_at - a.admitted_at for a in seen if a.admitted_at is not None]
    join_to_buy_s = [a.bought_at - a.joined_at for a in seen if a.joined_at is not None]
    wait_s = [a.admitted_at - a.joined_at for a in fans if a.admitted_at and a.joined_at]
    bot_ticket_share = _share(tickets_bots, tickets)
    bot_account_share = _share(len(bots), accounts)
    fp_rate = _share(len(refused_fans), len(fans))
    requests = sum(sim.requests.values())
    client_tickets = sum(a.tickets for a in sim.actors)
    return {
        "fans": len(fans),
        "bots": len(bots),
        "capacity": checks["capacity"],
        "tickets": tickets,
        "tickets_fans": tickets_fans,
        "tickets_bots": tickets_bots,
        "bot_account_share_pct": bot_account_share,
        "bot_ticket_share_pct": bot_ticket_share,
        "bot_request_share_pct": _share(sim.requests["bot"], requests),
        "bots_with_tickets": sum(1 for a in bots if by_user.get(a.user_id)),
        "tickets_per_bot": round(tickets_bots / len(bots), 2) if bots else None,
        "tickets_per_buying_fan": round(tickets_fans / len(bought), 2) if bought else None,
        "joined_prequeue": {
            "fan": sum(a.joined_at is not None and a.joined_at < sim.opens_after for a in fans),
            "bot": sum(a.joined_at is not None and a.joined_at < sim.opens_after for a in bots),
        },
        "fan_success_pct": _share(len(bought), len(fans)),
        "fans_saw_tickets": len(seen),
        "fan_purchase_s_p50": _median(purchase_s),
        "fan_join_to_tickets_s_p50": _median(join_to_buy_s),
        "fan_queue_wait_s_p50": _median(wait_s),
        "requests": requests,
        "requests_by_kind": dict(sim.requests),
        "refused_by_defence": refused,
        "refused_total": {kind: sum(v[kind] for v in refused.values()) for kind in ("fan", "bot")},
        "other_errors": others,
        "refusal_examples": dict(sim.examples),
        "fans_refused_once": len(refused_fans),
        "fans_challenged": len(challenged_fans),
        "fans_blocked": len(blocked_fans),
        "false_positive_pct": fp_rate,
        "false_positive_blocked_pct": _share(len(blocked_fans), len(fans)),
        "fan_outcomes": dict(Counter(a.outcome for a in fans)),
        "bot_outcomes": dict(Counter(a.outcome for a in bots)),
        # distinct device cookies held (fans: one each; bots: the three shared ones)
        "devices_fans": len({a.device_seen for a in fans if a.device_seen}),
        "devices_bots": len({a.device_seen for a in bots if a.device_seen}),
        "on_sale_s": round(on_sale_s, 1),
        "client_errors": dict(sim.stats.errors),
        "step_ms_p50": {
            step: round(statistics.median(ms)) for step, ms in sorted(sim.stats.step_ms.items())
        },
        "step_ms_p90": {
            step: round(sorted(ms)[int(0.9 * (len(ms) - 1))])
            for step, ms in sorted(sim.stats.step_ms.items())
        },
        "oversold": checks["oversold"],
        "money_errors": checks["money_errors"],
        "sold": checks["sold"],
        "held_at_end": checks["held_at_end"],
        # tickets the clients saw issued == tickets in the database
        "client_tickets": client_tickets,
        "target_bot_share_met": bot_ticket_share <= bot_account_share,
        "target_false_positive_met": fp_rate < 1.0,
    }


def report_lines(r: dict) -> list[str]:
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    lines = [
        f"tickets {r['tickets']:,} of {r['capacity']:,} (sold {r['sold']:,}, oversold "
        f"{r['oversold']}, money errors {r['money_errors']}) in {r['on_sale_s']} s",
        f"bots: {r['bot_account_share_pct']} % of accounts, {r['bot_request_share_pct']} % of "
        f"requests, {r['bot_ticket_share_pct']} % of tickets ({r['tickets_bots']:,}; "
        f"{r['tickets_per_bot']} a bot, {r['bots_with_tickets']} of {r['bots']} bought)",
        f"fans: {r['fan_success_pct']} % bought ({r['tickets_per_buying_fan']} tickets each), "
        f"median {r['fan_purchase_s_p50']} s from admission to tickets, queue wait "
        f"{r['fan_queue_wait_s_p50']} s",
        f"refused by defences: {r['refused_by_defence'] or 'none'}",
        f"other refusals: {r['other_errors'] or 'none'}",
        f"fans refused by a defence at least once: {r['fans_refused_once']} "
        f"({r['false_positive_pct']} %), challenged {r['fans_challenged']}, never bought "
        f"because of one {r['fans_blocked']}",
        f"fan outcomes {r['fan_outcomes']}; bot outcomes {r['bot_outcomes']}",
        f"target bots' ticket share <= account share: {verdict(r['target_bot_share_met'])} "
        f"({r['bot_ticket_share_pct']} % vs {r['bot_account_share_pct']} %)",
        f"target fans' false positives < 1 %: {verdict(r['target_false_positive_met'])} "
        f"({r['false_positive_pct']} %)",
    ]
    return lines
