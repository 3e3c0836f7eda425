"""What an operator reads: ``/metrics`` (Prometheus text format, behind a token),
``/health/live`` and ``/health/ready``. It reads every app below it and writes nothing.

- ``collectors.py``: the state of the sale read from the database (and Redis) at scrape
  time: task queue depth and age, workers, holds, orders, tickets, waiting rooms, payment
  callbacks by outcome. The per-process counters (requests, latency, SQL statements, tasks)
  are ``tessera.core.metrics``'.
- ``health.py``: the readiness checks (database, Redis when configured, a fresh worker
  heartbeat).
- ``views.py`` + ``urls.py``: the three endpoints.

See docs/operations.md for how to scrape and what each figure means.
"""
