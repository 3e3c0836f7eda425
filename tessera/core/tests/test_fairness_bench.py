"""The on-sale simulator (``bench/fairness.py``) keeps working: a tiny on-sale (20 fans,
2 bots, 30 places) run end to end by ``python -m bench --groups fairness`` against a live
``manage.py serve`` on a throw-away database of the suite's own backend (PostgreSQL, as
every bench run, or a SQLite file), and its figures checked against each other and against
the database. The fairness target itself is not asserted here: only that the simulator
counts truthfully.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from django.db import connection

from bench.fairness import Actor, Agent, OnSale, defence_of, solve

ROOT = Path(__file__).resolve().parents[3]


def test_proof_of_work_solution_has_the_leading_zero_bits():
    nonce = solve("abc.def", 12)
    assert nonce.isdigit()
    digest = hashlib.sha256(f"abc.def:{nonce}".encode()).digest()
    assert int.from_bytes(digest, "big") >> (256 - 12) == 0
    # the smallest such nonce: none before it qualifies
    for smaller in range(int(nonce)):
        earlier = hashlib.sha256(f"abc.def:{smaller}".encode()).digest()
        assert int.from_bytes(earlier, "big") >> (256 - 12) != 0


def test_answers_are_sorted_by_defence():
    assert defence_of(429, "rate_limited") == "rate_limited"
    assert defence_of(428, "challenge_required") == "challenge_required"
    assert defence_of(403, "risk_refused") == "risk_refused"
    assert defence_of(403, "challenge_invalid") == "challenge_invalid"
    assert defence_of(409, "limit_device") == "limit_device"
    assert defence_of(422, "limit_exceeded") == "limit_exceeded"
    assert defence_of(409, "places_unavailable") is None
    assert defence_of(403, "admission_foreign") is None
    assert defence_of(403, "csrf_failed") is None


def test_tiny_on_sale_end_to_end(tmp_path):
    name = f"tessera_bench_fairness_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    # the suite's own backend: a throw-away PostgreSQL database when the suite runs on
    # PostgreSQL, else a SQLite file (the embedded default, on a machine without a server)
    if connection.vendor == "postgresql":
        database_url = f"postgres://postgres@127.0.0.1:5432/{name}"
    else:
        database_url = f"sqlite:///{tmp_path / name}.sqlite3"
    environment = {k: v for k, v in os.environ.items() if k != "TESSERA_DATABASE_URL"}
    environment |= {
        "TESSERA_BENCH_DATABASE_URL": database_url,
        "TESSERA_BENCH_RESULTS_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--groups",
            "fairness",
            "--fairness-fans",
            "20",
            "--fairness-bots",
            "2",
            "--fairness-seats",
            "30",
            "--fairness-prequeue-s",
            "3",
            "--fairness-admit-s",
            "5",
            "--fairness-think",
            "0.1",
            "--fairness-signins",
            "2",
            "--fairness-cap",
            "240",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    output = completed.stdout
    assert completed.returncode == 0, output[-3000:] + completed.stderr[-3000:]
    last = output.strip().splitlines()[-1]
    assert json.loads((tmp_path / "latest.json").read_text()) == json.loads(last)
    result = json.loads(last)["fairness"]
    assert "error" not in result, result

    # the whole sale went, to the accounts the clients saw paid, once each
    assert result["capacity"] == 30
    assert result["oversold"] == 0
    assert result["money_errors"] == 0
    assert result["held_at_end"] == 0
    assert result["sold"] == result["tickets"] == 30  # demand (~60 places) beats supply
    assert result["tickets_fans"] + result["tickets_bots"] == result["tickets"]
    assert result["client_tickets"] == result["tickets"]
    assert result["tickets_bots"] <= 2 * 6  # the per-account maximum holds

    # every actor ended somewhere, and the shares add up
    assert (result["fans"], result["bots"]) == (20, 2)
    assert sum(result["fan_outcomes"].values()) == 20
    assert sum(result["bot_outcomes"].values()) == 2
    assert "pending" not in result["fan_outcomes"]
    # one device per fan (the cookie of its first page load), the bots' two shared ones
    assert result["devices_fans"] == 20
    assert result["devices_bots"] == 2
    assert result["fans_saw_tickets"] == result["fan_outcomes"].get("bought", 0)
    assert result["fan_success_pct"] == round(100 * result["fans_saw_tickets"] / 20, 2)
    assert result["bot_account_share_pct"] == round(100 * 2 / 22, 2)
    assert result["bot_ticket_share_pct"] == round(100 * result["tickets_bots"] / 30, 2)
    assert result["requests"] == sum(result["requests_by_kind"].values())
    assert result["requests_by_kind"]["bot"] > 0 and result["requests_by_kind"]["fan"] > 0
    for kind in ("fan", "bot"):
        assert result["refused_total"][kind] == sum(
            counts[kind] for counts in result["refused_by_defence"].values()
        )
    assert result["fans_blocked"] <= result["fans_refused_once"]
    assert result["fan_purchase_s_p50"] is not None and result["fan_purchase_s_p50"] > 0
    assert result["target_bot_share_met"] == (
        result["bot_ticket_share_pct"] <= result["bot_account_share_pct"]
    )
    assert result["target_false_positive_met"] == (result["false_positive_pct"] < 1.0)
    assert "target bots' ticket share <= account share: " in output
    assert "target fans' false positives < 1 %: " in output


class _ContractServer(ThreadingHTTPServer):
    """A stand-in for the defences that are not on main yet, speaking the shared contracts
    (docs of issue 16): a write needs a proof of work (428, then the proof header), a read
    is rate limited once (429 with Retry-After)."""

    daemon_threads = True
    proofs: list[str]
    limited_at: list[float]


class _ContractHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _answer(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        proof = self.headers.get("X-Tessera-Proof", "")
        challenge, _, nonce = proof.partition(":")
        digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
        if challenge == "chal-1" and int.from_bytes(digest, "big") >> (256 - 10) == 0:
            self.server.proofs.append(proof)
            self._answer(201, {"ok": True})
            return
        details = {"challenge": "chal-1", "difficulty": 10, "algorithm": "sha256"}
        error = {"code": "challenge_required", "message": "Prove it", "details": details}
        self._answer(428, {"error": error})

    def do_GET(self):
        if not self.server.limited_at:
            self.server.limited_at.append(time.monotonic())
            error = {"code": "rate_limited", "message": "Slow down", "details": {"retry_after": 1}}
            self._answer(429, {"error": error}, {"Retry-After": "1"})
            return
        self.server.limited_at.append(time.monotonic())
        self._answer(200, {"ok": True})


def test_the_simulator_answers_the_defences_contracts():
    server = _ContractServer(("127.0.0.1", 0), _ContractHandler)
    server.proofs, server.limited_at = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}"
        args = argparse.Namespace(
            fairness_think=0.1,
            fairness_max_per_account=6,
            fairness_bots_ignore_retry_after=False,
            fairness_bot_interval=0.05,
            fairness_bot_scrapers=1,
            fairness_seed=1,
        )
        fan = Actor(
            kind="fan",
            index=0,
            user_id=1,
            username="fan",
            session_key="k",
            address="10.0.0.1",
            payer="p",
            agent="UA",
            http_signin=False,
            arrive_at=0,
        )
        sim = OnSale(
            base_url=base_url,
            session_id=1,
            room_id=1,
            zones=[],
            actors=[fan],
            args=args,
            quick=True,
            started=time.monotonic(),
        )
        agent = Agent(base_url, sim.stats, fan)
        rng = random.Random(1)
        answer = sim.call(agent, rng, "hold", "POST", "/hold", json_body={"quantity": 2})
        assert answer.status == 201
        assert len(server.proofs) == 1  # the repeated request carried a valid proof
        assert fan.challenges == 1
        answer = sim.call(agent, rng, "status", "GET", "/status")
        assert answer.status == 200
        first, second = server.limited_at
        assert second - first >= 1.0  # the fan waited the Retry-After before asking again
        assert dict(fan.refused) == {"challenge_required": 1, "rate_limited": 1}
        assert fan.requests == 4
        assert sim.answers == {
            ("fan", 428, "challenge_required"): 1,
            ("fan", 429, "rate_limited"): 1,
        }
        agent.close()
    finally:
        server.shutdown()
        server.server_close()
