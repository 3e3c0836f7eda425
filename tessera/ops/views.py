"""``/metrics`` and the health endpoints. None of them needs a session, a language or a
CSRF token; they answer the same to every caller that may ask."""

from __future__ import annotations

import hmac
import os

from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from tessera.core import metrics
from tessera.core.clock import now as clock_now
from tessera.ops.collectors import StateCollector
from tessera.ops.health import readiness

TOKEN_ENV = "TESSERA_METRICS_TOKEN"  # noqa: S105 - the name of the variable


class _ThisProcess:
    """The per-process registry's figures, when no multiprocess directory is shared."""

    def collect(self):
        return metrics.REGISTRY.collect()


def _token_given(request) -> str:
    authorization = request.headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return ""


@never_cache
@require_safe
def metrics_view(request):
    """The Prometheus text format. 404 while ``TESSERA_METRICS_TOKEN`` is unset (nothing
    is exposed by default); 401 without ``Authorization: Bearer <token>``."""
    expected = os.environ.get(TOKEN_ENV, "")
    if not expected:
        return HttpResponse(status=404)
    if not hmac.compare_digest(_token_given(request).encode(), expected.encode()):
        response = HttpResponse("token required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    directory = metrics.multiprocess_dir()
    if directory:
        MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_ThisProcess())
    registry.register(StateCollector(clock_now()))
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


@never_cache
@require_safe
def live(request):
    """The process runs and answers (no dependency is asked)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def ready(request):
    """200 when the database (Redis when configured) answers and a worker is alive, else
    503; the body says which check failed."""
    ok, checks = readiness(now=clock_now())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
