"""The console's allocation pages: organizer and distributor, tenancy, bad input, languages."""

import re

import pytest
from django.test import Client

from tessera.accounts.models import OrganizationKind, Role
from tessera.accounts.tests.factories import make_organization
from tessera.allocations import services
from tessera.allocations.models import Allocation, AllocationKind, AllocationStatus
from tessera.allocations.tests.factories import make_distributor, member
from tessera.catalog.tests.factories import make_event
from tessera.inventory.models import InventoryUnit, UnitStatus
from tessera.inventory.tests.factories import make_sale
from tessera.orders.models import Order

pytestmark = pytest.mark.django_db

CONSOLE = "/partners/allocations/"


def client_for(user, language="en"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def units(session):
    return list(
        InventoryUnit.objects.filter(session=session)
        .order_by("id")
        .values_list("id", "status", "channel_id", "allocation_id")
    )


@pytest.fixture
def organizer(world):
    return client_for(member(world.organizer, "boss"))


def allocate_url(world):
    return f"{CONSOLE}sessions/{world.session.pk}/allocate/?org={world.organizer.pk}"


def test_the_organizer_allocates_by_zone_seats_and_pool_and_returns(world, organizer):
    page = organizer.get(f"{CONSOLE}?org={world.organizer.pk}&session={world.session.pk}")
    assert page.status_code == 200
    assert b"Channel allocations" in page.content and b"Damai Resale channel" in page.content
    zone_a, s2 = world.sale.zones["A"], world.sale.sections["S2"]
    answer = organizer.post(
        allocate_url(world),
        {"channel": world.channel.pk, "kind": "area", "zones": [zone_a.pk], "quantity": "6"},
    )
    assert answer.status_code == 302
    organizer.post(
        allocate_url(world),
        {"channel": world.channel.pk, "kind": "seats", "seats": "S2-A-1~4"},
    )
    organizer.post(
        allocate_url(world),
        {
            "channel": world.channel.pk,
            "kind": "pool",
            "quantity": "3",
            "sections": [s2.pk],
            "release_at": "2099-01-01T20:00",
        },
    )
    allocations = list(Allocation.objects.order_by("pk"))
    assert [(a.kind, a.allocated) for a in allocations] == [
        (AllocationKind.AREA, 6),
        (AllocationKind.SEATS, 4),
        (AllocationKind.POOL, 3),
    ]
    assert allocations[2].release_at.isoformat() == "2099-01-01T12:00:00+00:00"  # Shanghai
    page = organizer.get(f"{CONSOLE}?org={world.organizer.pk}&session={world.session.pk}")
    text = page.content.decode()
    assert "S2-A-1, S2-A-2, S2-A-3, S2-A-4" in text
    assert re.findall(r'class="alloc-num alloc-free"[^>]*>(\d+)<', text) == ["3", "4", "6"]
    # return 2 of the first, then all of the second
    first, second = allocations[0], allocations[1]
    url = f"{CONSOLE}{first.pk}/return/?org={world.organizer.pk}"
    assert organizer.post(url, {"quantity": "2", "all": "0"}).status_code == 302
    url = f"{CONSOLE}{second.pk}/return/?org={world.organizer.pk}"
    assert organizer.post(url, {"all": "1"}).status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.returned, second.returned, second.status) == (2, 4, AllocationStatus.RETURNED)
    # too many: refused with the reason, nothing changed
    before = units(world.session)
    url = f"{CONSOLE}{first.pk}/return/?org={world.organizer.pk}"
    refused = organizer.post(url, {"quantity": "5", "all": "0"})
    assert refused.status_code == 409
    assert "only 4 of the allocation" in refused.content.decode()
    assert units(world.session) == before


def test_all_or_nothing_is_explained_on_the_page_in_both_languages(world):
    boss = member(world.organizer, "boss")
    before = units(world.session)
    body = {
        "channel": world.channel.pk,
        "kind": "area",
        "zones": [world.sale.zones["A"].pk],
        "quantity": "31",
    }
    en = client_for(boss, "en").post(allocate_url(world), body)
    assert en.status_code == 409
    assert "Asked for 31 places, but only 30 are free" in en.content.decode()
    zh = client_for(boss, "zh-hans").post(allocate_url(world), body)
    assert "申请 31 个座位，但开放库存中只有 30 个空闲" in zh.content.decode()
    assert "渠道配额" in zh.content.decode()
    assert units(world.session) == before and Allocation.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"channel": "x", "kind": "area"},
        {"channel": "99999999999999999999999", "kind": "area", "zones": ["1"]},
        {"kind": "nope", "zones": ["a", "-1", "9" * 30]},
        {"kind": "area", "quantity": "-3"},
        {"kind": "area", "quantity": "1e5"},
        {"kind": "seats", "seats": "S1-A-1\x00"},
        {"kind": "seats", "seats": "S1-A-1~99999999999999999999"},
        {"kind": "pool", "quantity": "99999999999999999999999999"},
        {"kind": "area", "release_at": "yesterday"},
        {"kind": "area", "release_at": "2001-01-01T00:00"},
        {"kind": "area", "note": "\x00"},
    ],
)
def test_bad_input_is_refused_without_a_500(world, organizer, body):
    body = {"channel": world.channel.pk, "zones": [world.sale.zones["A"].pk], **body}
    before = units(world.session)
    answer = organizer.post(allocate_url(world), body)
    assert answer.status_code in (400, 404, 409, 422), answer.status_code
    assert units(world.session) == before and Allocation.objects.count() == 0


def test_return_with_bad_input_never_500(world, organizer, now):
    a = services.allocate(
        session=world.session,
        channel=world.channel,
        kind=AllocationKind.POOL,
        quantity=2,
        actor=None,
        now=now,
    )
    url = f"{CONSOLE}{a.pk}/return/?org={world.organizer.pk}"
    for body in ({}, {"quantity": "x"}, {"quantity": "0"}, {"quantity": "9" * 40}):
        assert organizer.post(url, body).status_code in (400, 409, 422)
    assert Allocation.objects.get(pk=a.pk).returned == 0
    assert organizer.get(f"{CONSOLE}?org={world.organizer.pk}&session=abc").status_code == 200
    assert organizer.get(f"{CONSOLE}?org={world.organizer.pk}&session=999999").status_code == 404


def test_an_organizer_sees_only_its_own_sessions(world, now):
    rival = make_organization(kind=OrganizationKind.ORGANIZER, name="别家主办")
    rival_sale = make_sale(now=now, event=make_event(organization=rival))
    theirs = services.allocate(
        session=rival_sale.session,
        channel=world.channel,
        kind=AllocationKind.POOL,
        quantity=2,
        actor=None,
        now=now,
    )
    boss = client_for(member(world.organizer, "boss"))
    org = world.organizer.pk
    session = rival_sale.session.pk
    assert boss.get(f"{CONSOLE}?org={org}&session={session}").status_code == 404
    assert boss.get(f"{CONSOLE}sessions/{session}/map/?org={org}").status_code == 404
    before = units(rival_sale.session)
    answer = boss.post(
        f"{CONSOLE}sessions/{session}/allocate/?org={org}",
        {"channel": world.channel.pk, "kind": "pool", "quantity": "1"},
    )
    assert answer.status_code == 404
    assert boss.post(f"{CONSOLE}{theirs.pk}/return/?org={org}", {"all": "1"}).status_code == 404
    assert units(rival_sale.session) == before
    # another organization's console is not theirs to open
    assert boss.get(f"{CONSOLE}?org={rival.pk}").status_code == 403
    # finance reads but does not write
    reader = client_for(member(world.organizer, "counter", role=Role.FINANCE))
    page = reader.get(f"{CONSOLE}?org={org}&session={world.session.pk}")
    assert page.status_code == 200 and b'id="alloc-form"' not in page.content
    answer = reader.post(allocate_url(world), {"channel": world.channel.pk, "kind": "pool"})
    assert answer.status_code == 403


def test_distributors_see_only_their_own_allocations(world, now):
    other_org, other = make_distributor("票务通", code="other")
    mine = services.allocate(
        session=world.session,
        channel=world.channel,
        kind=AllocationKind.POOL,
        quantity=2,
        actor=None,
        now=now,
    )
    theirs = services.allocate(
        session=world.session,
        channel=other,
        kind=AllocationKind.POOL,
        quantity=3,
        actor=None,
        now=now,
    )
    seller = client_for(member(world.distributor, "seller"))
    page = seller.get(f"{CONSOLE}?org={world.distributor.pk}")
    assert page.status_code == 200
    rows = re.findall(r'data-allocation="(\d+)"', page.content.decode())
    assert rows == [str(mine.pk)]
    assert b"Damai Resale channel" in page.content
    # the other's allocation cannot be sold from, its console not opened
    url = f"{CONSOLE}sell/?org={world.distributor.pk}&allocation={theirs.pk}"
    assert seller.get(url).status_code == 404
    assert seller.get(f"{CONSOLE}?org={other_org.pk}").status_code == 403
    before = units(world.session)
    answer = seller.post(
        f"{CONSOLE}sell/?org={world.distributor.pk}",
        {
            "allocation": theirs.pk,
            "zone": world.sale.zones["A"].pk,
            "quantity": "1",
            "token": "t" * 16,
        },
    )
    assert answer.status_code == 404
    assert units(world.session) == before
    # organizer pages are not a distributor's
    assert (
        seller.get(
            f"{CONSOLE}sessions/{world.session.pk}/map/?org={world.distributor.pk}"
        ).status_code
        == 404
    )
    assert (
        seller.post(
            f"{CONSOLE}{mine.pk}/return/?org={world.distributor.pk}", {"all": "1"}
        ).status_code
        == 404
    )


def test_a_distributor_sells_from_its_allocation(world, now):
    zone = world.sale.zones["B"]
    a = services.allocate(
        session=world.session,
        channel=world.channel,
        kind=AllocationKind.AREA,
        zone_ids=[zone.pk],
        quantity=4,
        actor=None,
        now=now,
    )
    seller = client_for(member(world.distributor, "seller"), "zh-hans")
    form = seller.get(f"{CONSOLE}sell/?org={world.distributor.pk}")
    assert form.status_code == 200
    text = form.content.decode()
    assert "从我的配额出票" in text and "余 4 张" in text
    token = re.search(r'name="token" value="([0-9a-f]+)"', text).group(1)
    body = {
        "allocation": a.pk,
        "zone": zone.pk,
        "quantity": "3",
        "buyer_name": "李雷",
        "email": "lilei@example.com",
        "token": token,
    }
    sold = seller.post(f"{CONSOLE}sell/?org={world.distributor.pk}", body)
    assert sold.status_code == 201
    order = Order.objects.get(channel=world.channel)
    assert order.number in sold.content.decode()
    assert sold.content.decode().count('class="ticket-qr"') == 3
    lines = list(order.lines.values_list("unit_id", flat=True))
    assert set(lines) <= set(
        InventoryUnit.objects.filter(allocation_id=a.pk).values_list("id", flat=True)
    )
    # the same form sent again answers the same order
    again = seller.post(f"{CONSOLE}sell/?org={world.distributor.pk}", body)
    assert again.status_code == 201 and Order.objects.filter(channel=world.channel).count() == 1
    # more than is left: refused, nothing sold
    before = units(world.session)
    body["token"] = "f" * 32
    refused = seller.post(f"{CONSOLE}sell/?org={world.distributor.pk}", {**body, "quantity": "2"})
    assert refused.status_code == 409
    assert units(world.session) == before
    for bad in (
        {"quantity": "0"},
        {"quantity": "x"},
        {"token": ""},
        {"zone": "z"},
        {"email": "no"},
        {"buyer_name": "a\x00"},
    ):
        answer = seller.post(f"{CONSOLE}sell/?org={world.distributor.pk}", {**body, **bad})
        assert answer.status_code in (400, 409, 422), bad
    assert units(world.session) == before
    assert InventoryUnit.objects.filter(allocation_id=a.pk, status=UnitStatus.SOLD).count() == 3


def test_the_map_colours_each_place_by_channel(world, now):
    services.allocate(
        session=world.session,
        channel=world.channel,
        kind=AllocationKind.SEATS,
        seats="S1-A-1~5",
        actor=None,
        now=now,
    )
    _org, other = make_distributor("票务通", code="other")
    services.allocate(
        session=world.session,
        channel=other,
        kind=AllocationKind.AREA,
        section_ids=[world.sale.sections["GA"].pk],
        quantity=8,
        actor=None,
        now=now,
    )
    boss = client_for(member(world.organizer, "boss"), "zh-hans")
    page = boss.get(f"{CONSOLE}sessions/{world.session.pk}/map/?org={world.organizer.pk}")
    assert page.status_code == 200
    text = page.content.decode()
    legend = dict(
        re.findall(r'<li data-key="(\w+)">.*?<strong class="alloc-count">(\d+)</strong>', text)
    )
    assert legend == {
        "pool": str(60 + 20 - 5 - 8),
        f"ch{world.channel.pk}": "5",
        f"ch{other.pk}": "8",
        "held": "0",
        "sold": "0",
        "blocked": "0",
    }
    group = re.search(
        rf'<g class="alloc-seats" data-key="ch{world.channel.pk}"[^>]*>(.*?)</g>', text
    )
    assert group.group(1).count("<circle") == 5
    assert f'class="alloc-bar" data-key="ch{other.pk}"' in text
    assert "开放库存" in text and "已售" in text


def test_a_stranger_and_a_fan_are_refused(world):
    assert Client().get(CONSOLE).status_code == 302
    from tessera.inventory.tests.factories import make_buyer

    assert client_for(make_buyer()).get(CONSOLE).status_code == 403
    url = f"{CONSOLE}sessions/{world.session.pk}/allocate/"
    assert client_for(make_buyer()).post(url, {"kind": "pool"}).status_code == 403
