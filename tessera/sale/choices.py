"""Which places a buyer asks for, and holding them: the one hold-request service.

Every way a buyer chooses places arrives here as a ``PlaceChoice``, whether from the API's
JSON, the seat map or the buy page's form:

* ``unit_ids``: these places (seats picked on the map, a proposal accepted);
* ``seat_ids``: the places of these seats of the layout;
* ``seat_labels``: seats typed as ``section-row-seat`` (e.g. ``101-5-12``);
* ``zone`` (and/or ``section``) with ``quantity``: any places there (standing areas,
  "any N in this zone");
* ``best_available`` with ``zone`` or ``section`` and ``quantity``: the best adjacent seats
  (``accept_split`` allows seats split across rows when no block is left).

``hold_places`` turns a choice into a hold through the inventory's services.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from tessera.catalog.models import PriceZone, Session, ZoneAssignment
from tessera.core.errors import InvalidInput
from tessera.inventory import services as inventory
from tessera.inventory.errors import PlacesUnknown, ScopeInvalid
from tessera.inventory.models import Hold, InventoryUnit, SalesChannel
from tessera.limits import services as limits
from tessera.venues.models import Section, SectionKind

MAX_PLACES = 100
MAX_LABELS_LENGTH = 2000


class ChoiceInvalid(InvalidInput):
    code = "choice_invalid"


@dataclass(frozen=True)
class PlaceChoice:
    """One way of choosing places (see the module docstring). Build it with ``parse``."""

    unit_ids: tuple[int, ...] | None = None
    seat_ids: tuple[int, ...] | None = None
    seat_labels: tuple[str, ...] | None = None
    zone_id: int | None = None
    section_id: int | None = None
    quantity: int | None = None
    best_available: bool = False
    accept_split: bool = False

    @property
    def is_quantity(self) -> bool:
        """Any places of a zone/section (not chosen ones, not best available)."""
        return self.quantity is not None and not self.best_available

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> PlaceChoice:
        """A choice from JSON-like data (the API body, the seat map's request, a form's
        cleaned data); raises ChoiceInvalid naming what is wrong. Exactly one way of
        choosing: chosen places, or an area with a quantity."""
        if not isinstance(data, Mapping):
            raise ChoiceInvalid(_("The request could not be read."))
        ids = {name: _id_list(data.get(name), name) for name in ("unit_ids", "seat_ids")}
        labels = _labels(data.get("seat_labels"))
        zone_id = _optional_id(data.get("zone"), "zone")
        section_id = _optional_id(data.get("section"), "section")
        quantity = _optional_quantity(data.get("quantity"))
        best = _flag(data.get("best_available"), "best_available")
        split = _flag(data.get("accept_split"), "accept_split")
        chosen = [n for n, v in (*ids.items(), ("seat_labels", labels)) if v is not None]
        by_area = any(v is not None for v in (zone_id, section_id, quantity))
        if len(chosen) > 1 or (chosen and (by_area or best)):
            raise ChoiceInvalid(
                _(
                    "Choose places one way: unit_ids, seat_ids, seat labels, a zone and a "
                    "quantity, or best_available."
                )
            )
        if chosen:
            if split:
                raise ChoiceInvalid(_("accept_split goes with best_available."))
            return cls(unit_ids=ids["unit_ids"], seat_ids=ids["seat_ids"], seat_labels=labels)
        if quantity is None:
            raise ChoiceInvalid(
                _("A quantity is required with a zone, a section or best_available.")
            )
        if best:
            if zone_id is None and section_id is None:
                raise ChoiceInvalid(_("best_available needs a zone or a section."))
        elif zone_id is None and section_id is None:
            raise ChoiceInvalid(_("A zone is required (or unit_ids, seat_ids or best_available)."))
        elif split:
            raise ChoiceInvalid(_("accept_split goes with best_available."))
        return cls(
            zone_id=zone_id,
            section_id=section_id,
            quantity=quantity,
            best_available=best,
            accept_split=split,
        )


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _id_list(value, name: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if (
        not isinstance(value, list | tuple)
        or not value
        or len(value) > MAX_PLACES
        or not all(_is_int(v) and 0 < v < 2**63 for v in value)
    ):
        raise ChoiceInvalid(
            _("%(field)s must be a list of 1 to %(max)d place numbers.")
            % {"field": name, "max": MAX_PLACES},
            details={name: "invalid"},
        )
    return tuple(dict.fromkeys(value))


def _labels(value) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > MAX_LABELS_LENGTH:
            raise ChoiceInvalid(_("Please enter at most %(max)d seats.") % {"max": MAX_PLACES})
        value = [part.strip() for part in value.replace("，", ",").split(",")]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ChoiceInvalid(_("Please enter seats as section-row-seat, e.g. 101-5-12."))
    labels = tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
    if not labels:
        raise ChoiceInvalid(_("Please enter at least one seat."))
    if len(labels) > MAX_PLACES:
        raise ChoiceInvalid(_("Please enter at most %(max)d seats.") % {"max": MAX_PLACES})
    for label in labels:
        parts = label.split("-")
        if len(parts) != 3 or not all(parts) or "\x00" in label or len(label) > 60:
            raise ChoiceInvalid(
                _("“%(label)s” is not a seat: use section-row-seat, e.g. 101-5-12.")
                % {"label": label[:60]}
            )
    return labels


def _optional_id(value, name: str) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or not 0 < value < 2**63:
        raise ChoiceInvalid(
            _("%(field)s must be a whole number.") % {"field": name}, details={name: "invalid"}
        )
    return value


def _optional_quantity(value) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or not 1 <= value <= MAX_PLACES:
        raise ChoiceInvalid(
            _("Please choose between 1 and %(max)d places.") % {"max": MAX_PLACES},
            details={"quantity": "invalid"},
        )
    return value


def _flag(value, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ChoiceInvalid(
            _("%(field)s must be true or false.") % {"field": name}, details={name: "invalid"}
        )
    return value


# -- resolving a choice against a session ---------------------------------------------------------


def zone_of(session: Session, zone_id: int | None) -> PriceZone | None:
    """The session's price zone ``zone_id``; raises ScopeInvalid for another session's."""
    if zone_id is None:
        return None
    zone = PriceZone.objects.filter(pk=zone_id, session_id=session.pk).first()
    if zone is None:
        raise ScopeInvalid(details={"zone": zone_id})
    return zone


def section_of(session: Session, section_id: int | None) -> Section | None:
    """The section ``section_id`` of the session's layout; raises ScopeInvalid otherwise."""
    if section_id is None:
        return None
    section = Section.objects.filter(pk=section_id, layout_id=session.layout_id).first()
    if section is None:
        raise ScopeInvalid(details={"section": section_id})
    return section


def standing_zone(session: Session, section: Section) -> PriceZone | None:
    """The price zone a standing section is sold in, None when it is not on sale."""
    zone_id = (
        ZoneAssignment.objects.filter(session_id=session.pk, section=section)
        .values_list("zone_id", flat=True)
        .first()
    )
    return PriceZone.objects.filter(pk=zone_id).first() if zone_id else None


def unit_ids_of(session: Session, choice: PlaceChoice) -> list[int] | None:
    """The unit ids of a choice of chosen places (None for area choices); raises
    PlacesUnknown naming seats or labels the session does not sell."""
    if choice.unit_ids is not None:
        return list(choice.unit_ids)
    if choice.seat_ids is not None:
        by_seat = dict(
            InventoryUnit.objects.filter(
                session_id=session.pk, seat_id__in=choice.seat_ids
            ).values_list("seat_id", "id")
        )
        unknown = sorted(set(choice.seat_ids) - set(by_seat))
        if unknown:
            raise PlacesUnknown(details={"seat_ids": unknown})
        return [by_seat[s] for s in choice.seat_ids]
    if choice.seat_labels is not None:
        return _units_of_labels(session, choice.seat_labels)
    return None


def _units_of_labels(session: Session, labels: tuple[str, ...]) -> list[int]:
    wanted = [(label, tuple(label.split("-"))) for label in labels]
    match = Q()
    for _label, (section, row, seat) in wanted:
        match |= Q(section__code=section, seat__row__label=row, seat__label=seat)
    found = {
        (section, row, seat): unit_id
        for unit_id, section, row, seat in InventoryUnit.objects.filter(
            match, session_id=session.pk
        ).values_list("id", "section__code", "seat__row__label", "seat__label")
    }
    missing = [label for label, parts in wanted if parts not in found]
    if missing:
        raise PlacesUnknown(
            _("There is no seat %(label)s in this session.") % {"label": missing[0]},
            details={"seat_labels": missing},
        )
    return [found[parts] for _label, parts in wanted]


def hold_places(
    *,
    session: Session,
    user,
    choice: PlaceChoice,
    now: datetime,
    channel: SalesChannel | None = None,
    admission_pass: str | None = None,
    buyer: limits.Buyer | None = None,
) -> Hold:
    """Hold the places ``choice`` means for ``user``: all of them or none.

    A buyer's hold (no ``channel``) stays within the session's purchase limits
    (``tessera.limits``: per device and address of ``buyer``, per the account's phone, per
    account across the event), checked in the hold's transaction.

    Raises ScopeInvalid (a zone or section of another session), PlacesUnknown, and whatever
    the inventory's hold services raise (NotOnSale, LimitExceeded, PlacesUnavailable …) or
    the limits (``limit_device``, ``limit_phone``, ``limit_address``, ``limit_account``).
    """
    if channel is not None:
        return _hold_places(
            session=session,
            user=user,
            choice=choice,
            now=now,
            channel=channel,
            admission_pass=admission_pass,
        )
    return limits.hold_within_limits(
        session=session,
        user=user,
        buyer=buyer,
        now=now,
        take=lambda: _hold_places(
            session=session,
            user=user,
            choice=choice,
            now=now,
            channel=None,
            admission_pass=admission_pass,
        ),
    )


def _hold_places(
    *,
    session: Session,
    user,
    choice: PlaceChoice,
    now: datetime,
    channel: SalesChannel | None,
    admission_pass: str | None,
) -> Hold:
    common = {
        "session": session,
        "user": user,
        "now": now,
        "channel": channel,
        "admission_pass": admission_pass,
    }
    unit_ids = unit_ids_of(session, choice)
    if unit_ids is not None:
        return inventory.hold_units(unit_ids=unit_ids, **common)
    zone = zone_of(session, choice.zone_id)
    section = section_of(session, choice.section_id)
    if choice.best_available:
        return inventory.hold_best_available(
            quantity=choice.quantity,
            zone=zone,
            section=section,
            accept_split=choice.accept_split,
            **common,
        )
    if zone is None:  # a standing section chosen by itself (the seat map)
        if section.kind != SectionKind.STANDING:
            raise InvalidInput(_("Choose seats on the map for a seated section."))
        zone = standing_zone(session, section)
        if zone is None:
            raise InvalidInput(_("This area is not on sale."))
    return inventory.hold_quantity(quantity=choice.quantity, zone=zone, section=section, **common)
