"""Pages of the check-in app: the scanner (an installable, offline web app), its service
worker and manifest (served under /checkin/ so the worker's scope covers the scanner), the
optional QR decoder from npm, and the organizer's live dashboard."""

import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tessera.checkin.api import get_dashboard_session
from tessera.core.errors import NotFound
from tessera.identities.documents import DocumentType

# The camera path decodes QR codes with jsQR (npm, pinned in package.json). Without
# `npm ci` the scanner still works with a keyboard-wedge scanner or typed codes.
DECODER_FILE = Path("jsqr") / "dist" / "jsQR.js"
SHELL_VERSION = "checkin-shell-v2"


def _node_modules() -> Path:
    return Path(getattr(settings, "TESSERA_NODE_MODULES", settings.BASE_DIR / "node_modules"))


def _script_json(value) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def decoder_path() -> Path | None:
    path = _node_modules() / DECODER_FILE
    return path if path.is_file() else None


def scanner_messages() -> dict[str, str]:
    """Every text the scanner's script shows, in the request's language."""
    return {
        "valid": _("Valid: welcome"),
        "valid_exit": _("Exit recorded"),
        "malformed": _("Not a Tessera ticket"),
        "unknown_key": _("Unknown signing key: sync this device"),
        "forged": _("Forged ticket"),
        "revoked": _("Revoked ticket (refunded, transferred or reissued)"),
        "not_yet_valid": _("Not yet valid"),
        "expired": _("Expired ticket"),
        "wrong_session": _("Ticket for another session"),
        "wrong_gate": _("Wrong gate for this ticket"),
        "already_entered": _("Already entered"),
        "reentry_not_allowed": _("Re-entry is not allowed"),
        "not_inside": _("This ticket has not entered"),
        "entry_closed": _("Entry is not open now"),
        "static_not_allowed": _("Printed or static codes are not accepted: show the live ticket"),
        "code_expired": _("Code expired: screenshot or old code"),
        "unknown_ticket": _("Unknown ticket"),
        "offline": _("Offline"),
        "online": _("Online"),
        "queued": _("Scans waiting to sync: %(count)s"),
        "synced": _("Synced: %(stored)s new scans, %(flagged)s flagged"),
        "sign_in_failed": _("This device token was not recognised."),
        "bundle_loaded": _("Ready: %(tickets)s tickets, %(revocations)s revoked"),
        "no_session": _("Choose a session and a gate."),
        "camera_unavailable": _(
            "The camera decoder is not installed: use a scanner or type the code."
        ),
        "holder": _("Holder: %(name)s"),
        "ticket_number": _("That is the ticket number: scan the QR code"),
        "entered_at": _("Entered at %(time)s"),
        "entered_at_gate": _("Entered at %(time)s, %(gate)s"),
        "today": _("Today"),
        "flag_duplicate_entry": _("Duplicate entry at another gate"),
        "identity": _("ID: %(doc)s %(number)s"),
        "id_match": _("ID matches this ticket"),
        "id_mismatch": _("ID does not match this ticket: do not admit"),
        "id_no_ticket": _("Scan a ticket first, then check the ID."),
        "id_not_real_name": _("This session does not use real-name tickets."),
        **{f"doc_{value}": str(label) for value, label in DocumentType.choices},
    }


@require_GET
def scanner(request):
    context = {
        "messages_json": _script_json(scanner_messages()),
        "config_json": _script_json(
            {
                "api": "/api/v1/checkin",
                "sw": reverse("checkin:service_worker"),
                "scope": reverse("checkin:scanner").rsplit("scanner/", 1)[0],
                "decoder": reverse("checkin:decoder") if decoder_path() else None,
                "verify_module": static("checkin/verify.js"),
            }
        ),
    }
    return render(request, "checkin/scanner.html", context)


@require_GET
def service_worker(request):
    shell = [
        reverse("checkin:scanner"),
        reverse("checkin:manifest"),
        static("checkin/scanner.js"),
        static("checkin/verify.js"),
        static("checkin/icon.svg"),
        static("css/tessera.css"),
    ]
    if decoder_path():
        shell.append(reverse("checkin:decoder"))
    body = (
        f"const SHELL_CACHE = {json.dumps(SHELL_VERSION)};\n"
        f"const SHELL = {json.dumps(shell)};\n"
        + (Path(__file__).parent / "static" / "checkin" / "sw-body.js").read_text("utf-8")
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("checkin:scanner").rsplit("scanner/", 1)[0]
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def manifest(request):
    data = {
        "name": _("Tessera gate scanner"),
        "short_name": _("Scanner"),
        "start_url": reverse("checkin:scanner"),
        "scope": reverse("checkin:scanner"),
        "display": "standalone",
        "background_color": "#10131a",
        "theme_color": "#17794a",
        "icons": [{"src": static("checkin/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    return JsonResponse(
        data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )


@require_GET
def decoder(request):
    path = decoder_path()
    if path is None:
        raise Http404
    response = HttpResponse(path.read_bytes(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_GET
@never_cache
@login_required
def dashboard(request, session_id: int):
    try:
        session = get_dashboard_session(request.user, session_id)
    except NotFound as exc:
        raise Http404 from exc
    return render(
        request,
        "checkin/dashboard.html",
        {
            "session": session,
            "data_url": f"/api/v1/checkin/sessions/{session.pk}/dashboard",
            "flag_labels_json": _script_json(
                {
                    "duplicate_entry": _("Same ticket admitted twice (first scan counts)"),
                    "reentry_not_allowed": _("Re-entry although not allowed"),
                    "exit_without_entry": _("Exit without an entry"),
                    **scanner_messages(),
                }
            ),
            "messages_json": _script_json(
                {
                    "inside": _("Inside now"),
                    "entered": _("Entered"),
                    "flagged": _("Flagged scans"),
                    "updated": _("Updated %(time)s"),
                    "none": _("No flagged scans."),
                }
            ),
        },
    )
