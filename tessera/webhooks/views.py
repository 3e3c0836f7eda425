"""The partner console's webhook pages (``/partners/webhooks/``): the partner's own endpoints
only (``request.partner``); another partner's endpoint id is 404. Writing needs a writing role
in the organization (owner, manager, staff)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tessera.core import clock
from tessera.core.errors import DomainError
from tessera.partners.console import can_write, console_required
from tessera.webhooks import selectors, services
from tessera.webhooks.models import SUBSCRIBABLE, DeliveryStatus, EventKind, WebhookDelivery


def _kind_choices():
    labels = dict(EventKind.choices)
    return [(k, labels[k]) for k in SUBSCRIBABLE]


def _endpoint(request, pk):
    endpoint = selectors.get_endpoint(request.partner, pk)
    if endpoint is None:
        raise Http404
    return endpoint


def _require_write(request):
    if not can_write(request.user, request.partner):
        raise PermissionDenied


def _url(name, request, *args) -> str:
    return reverse(name, args=args) + f"?org={request.partner.pk}"


def _form(request) -> dict:
    return {
        "url": request.POST.get("url", "").strip()[:2000],
        "description": request.POST.get("description", "")[:120],
        "kinds": request.POST.getlist("kinds")[:20],
        "is_active": request.POST.get("is_active") == "on",
    }


def _secret_page(request, endpoint, secret, *, created: bool):
    return render(
        request,
        "webhooks/secret.html",
        {"partner": request.partner, "endpoint": endpoint, "secret": secret, "created": created},
    )


@never_cache
@console_required
@require_http_methods(["GET", "POST"])
def console(request):
    form = {"url": "", "description": "", "kinds": list(SUBSCRIBABLE), "is_active": True}
    error = None
    if request.method == "POST":
        _require_write(request)
        form = _form(request)
        try:
            endpoint, secret = services.create_endpoint(
                organization=request.partner,
                url=form["url"],
                kinds=form["kinds"],
                description=form["description"],
                actor=request.user,
                now=clock.now(),
            )
        except DomainError as exc:
            error = exc.message
        else:
            return _secret_page(request, endpoint, secret, created=True)
    return render(
        request,
        "webhooks/console.html",
        {
            "partner": request.partner,
            "endpoints": selectors.list_endpoints(request.partner),
            "kind_choices": _kind_choices(),
            "form": form,
            "error": error,
            "writable": can_write(request.user, request.partner),
        },
        status=422 if error else 200,
    )


@never_cache
@console_required
@require_http_methods(["GET", "POST"])
def edit(request, pk):
    endpoint = _endpoint(request, pk)
    form = {
        "url": endpoint.url,
        "description": endpoint.description,
        "kinds": list(endpoint.kinds or []),
        "is_active": endpoint.is_active,
    }
    error = None
    if request.method == "POST":
        _require_write(request)
        form = _form(request)
        try:
            services.update_endpoint(endpoint=endpoint, actor=request.user, now=clock.now(), **form)
        except DomainError as exc:
            error = exc.message
        else:
            return redirect(_url("webhooks:console", request))
    return render(
        request,
        "webhooks/edit.html",
        {
            "partner": request.partner,
            "endpoint": endpoint,
            "kind_choices": _kind_choices(),
            "form": form,
            "error": error,
            "writable": can_write(request.user, request.partner),
        },
        status=422 if error else 200,
    )


@console_required
@require_POST
def delete(request, pk):
    endpoint = _endpoint(request, pk)
    _require_write(request)
    services.delete_endpoint(endpoint=endpoint, actor=request.user, now=clock.now())
    return redirect(_url("webhooks:console", request))


@never_cache
@console_required
@require_POST
def rotate(request, pk):
    endpoint = _endpoint(request, pk)
    _require_write(request)
    secret = services.rotate_secret(endpoint=endpoint, actor=request.user, now=clock.now())
    return _secret_page(request, endpoint, secret, created=False)


def _send_soon(delivery_ids: list[int]) -> None:
    from tessera.webhooks.tasks import deliver_webhooks

    transaction.on_commit(lambda: deliver_webhooks.enqueue(delivery_ids=delivery_ids))


@console_required
@require_POST
def ping(request, pk):
    endpoint = _endpoint(request, pk)
    _require_write(request)
    delivery = services.send_ping(endpoint=endpoint, actor=request.user, now=clock.now())
    _send_soon([delivery.pk])
    return redirect(_url("webhooks:deliveries", request, endpoint.pk))


@never_cache
@console_required
def deliveries(request, pk):
    endpoint = _endpoint(request, pk)
    status = request.GET.get("status", "")
    return render(
        request,
        "webhooks/deliveries.html",
        {
            "partner": request.partner,
            "endpoint": endpoint,
            "deliveries": selectors.list_deliveries(endpoint, status=status),
            "status": status if status in DeliveryStatus.values else "",
            "statuses": DeliveryStatus.choices,
            "writable": can_write(request.user, request.partner),
            "busy": request.GET.get("busy") == "1",
        },
    )


@console_required
@require_POST
def redeliver(request, pk, uid):
    endpoint = _endpoint(request, pk)
    _require_write(request)
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint, uid=uid).first()
    if delivery is None:
        raise Http404
    target = _url("webhooks:deliveries", request, endpoint.pk)
    try:
        services.redeliver(delivery=delivery, actor=request.user, now=clock.now())
    except DomainError:
        return redirect(target + "&busy=1")
    _send_soon([delivery.pk])
    return redirect(target)
