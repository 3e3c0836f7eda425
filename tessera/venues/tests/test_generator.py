import math
import time

import pytest
from django.core.management import CommandError, call_command

from tessera.core.models import AuditEntry
from tessera.venues.generator import (
    LayoutSpec,
    LayoutSpecInvalid,
    generate_layout,
    plan_layout,
    row_label,
)
from tessera.venues.models import Layout, Row, Seat, Section, SectionKind
from tessera.venues.tests.factories import make_venue


def inside(point, polygon) -> bool:
    """Ray casting: is ``point`` inside ``polygon`` ([[x, y], ...])?"""
    x, y = point
    result = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            result = not result
    return result


SMALL = LayoutSpec(
    kind="stadium",
    tiers=2,
    sections_per_tier=4,
    rows=3,
    seats_per_row=5,
    terraces=1,
    terrace_capacity=100,
)


# --- plans in memory --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "seated_sections", "standing_sections", "seats", "standing"),
    [
        ("stadium_60k", 84, 1, 58_192, 1_808),
        ("compact_stadium", 56, 1, 17_152, 2_848),
        ("arena_15k", 52, 0, 15_088, 0),
        ("theatre_2k", 11, 0, 2_002, 0),
    ],
)
def test_presets_have_the_announced_size(
    preset, seated_sections, standing_sections, seats, standing
):
    # Given a preset spec
    spec = LayoutSpec.preset(preset)
    # When it is planned
    plan = plan_layout(spec)
    # Then counts are as announced
    kinds = [s.kind for s in plan.sections]
    assert kinds.count(SectionKind.SEATED) == seated_sections
    assert kinds.count(SectionKind.STANDING) == standing_sections
    assert plan.seat_count == spec.seat_count == seats
    assert sum(s.capacity for s in plan.sections) == spec.standing_capacity == standing


def test_stadium_preset_reaches_sixty_thousand_places_with_two_tiers_of_blocks():
    plan = plan_layout(LayoutSpec.stadium_60k())
    codes = [s.code for s in plan.sections]
    assert codes[:3] == ["101", "102", "103"]
    assert [c for c in codes if c.startswith("1")] == [f"1{n:02d}" for n in range(1, 41)]
    assert [c for c in codes if c.startswith("2")] == [f"2{n:02d}" for n in range(1, 45)]
    assert "T1" in codes
    assert plan.seat_count + 1_808 == 60_000
    first = plan.sections[0]
    assert (first.name, first.name_en, first.tier) == ("101区", "Block 101", 1)
    terrace = next(s for s in plan.sections if s.code == "T1")
    assert (terrace.name, terrace.name_en, terrace.capacity, terrace.rows) == (
        "站立看台",
        "Standing terrace",
        1_808,
        [],
    )


@pytest.mark.parametrize("preset", LayoutSpec.PRESETS)
def test_every_seat_lies_inside_its_section_outline_and_the_plan(preset):
    plan = plan_layout(LayoutSpec.preset(preset))
    outside = [
        (s.code, r.label, seat.position)
        for s in plan.sections
        for r in s.rows
        for seat in r.seats
        if not inside((seat.x, seat.y), s.outline)
        or not (0 <= seat.x <= plan.width and 0 <= seat.y <= plan.height)
    ]
    assert outside == []
    assert all(inside((s.label_x, s.label_y), s.outline) for s in plan.sections)
    assert all(
        0 <= x <= plan.width and 0 <= y <= plan.height for s in plan.sections for x, y in s.outline
    )


@pytest.mark.parametrize(
    ("preset", "shape_kind"),
    [("stadium_60k", "pitch"), ("arena_15k", "floor"), ("theatre_2k", "stage")],
)
def test_focal_point_lies_inside_the_pitch_floor_or_stage(preset, shape_kind):
    plan = plan_layout(LayoutSpec.preset(preset))
    assert [s["kind"] for s in plan.shapes] == [shape_kind]
    assert inside((plan.focal_x, plan.focal_y), plan.shapes[0]["points"])
    # and no seat is on the pitch, floor or stage
    assert not any(
        inside((seat.x, seat.y), plan.shapes[0]["points"])
        for s in plan.sections
        for r in s.rows
        for seat in r.seats
    )


def test_stadium_focal_point_is_the_plan_centre_and_theatre_stage_is_at_the_top():
    stadium = plan_layout(LayoutSpec.stadium_60k())
    assert (stadium.focal_x, stadium.focal_y, stadium.focal_label) == (900.0, 700.0, "球场")
    theatre = plan_layout(LayoutSpec.theatre_2k())
    stage_ys = [y for _, y in theatre.shapes[0]["points"]]
    nearest_seat_y = min(seat.y for s in theatre.sections for r in s.rows for seat in r.seats)
    assert max(stage_ys) < nearest_seat_y
    assert theatre.focal_label == "舞台"


@pytest.mark.parametrize("preset", LayoutSpec.PRESETS)
def test_neighbours_along_a_row_are_nearer_than_the_seat_after_next(preset):
    plan = plan_layout(LayoutSpec.preset(preset))
    for s in plan.sections:
        for r in s.rows:
            pts = [(seat.x, seat.y) for seat in r.seats]
            assert [seat.position for seat in r.seats] == list(range(1, len(pts) + 1))
            for i in range(len(pts) - 2):
                assert math.dist(pts[i], pts[i + 1]) < math.dist(pts[i], pts[i + 2])


def test_rows_grow_with_distance_in_a_bowl():
    plan = plan_layout(LayoutSpec.stadium_60k())
    block = plan.sections[0]
    assert [len(r.seats) for r in block.rows[:5]] == [20, 20, 21, 21, 22]
    assert len(block.rows[-1].seats) == 20 + 12


def test_aisle_accessible_and_restricted_flags():
    plan = plan_layout(LayoutSpec.stadium_60k())
    rows = [r for s in plan.sections for r in s.rows]
    # Aisle seats: exactly the two ends of every row.
    assert all(
        [seat.is_aisle for seat in r.seats] == [True] + [False] * (len(r.seats) - 2) + [True]
        for r in rows
    )
    # Accessible: the whole first row of every fifth block of the lower tier.
    accessible = {
        (s.code, r.label)
        for s in plan.sections
        for r in s.rows
        for seat in r.seats
        if seat.is_accessible
    }
    assert accessible == {(f"1{n:02d}", "1") for n in range(1, 41, 5)}
    # Restricted view: two seats behind a pillar in the last two rows of every fourth upper
    # block (blocks 203, 207, ..., 243).
    restricted = sorted(
        (s.code, r.label, seat.position)
        for s in plan.sections
        for r in s.rows
        for seat in r.seats
        if seat.is_restricted_view
    )
    assert len(restricted) == 11 * 4
    assert restricted[:4] == [
        ("203", "23", 17),
        ("203", "23", 18),
        ("203", "24", 17),
        ("203", "24", 18),
    ]


def test_theatre_rows_are_lettered_per_block():
    plan = plan_layout(LayoutSpec.theatre_2k())
    stalls = plan.sections[0]
    assert [r.label for r in stalls.rows] == [chr(ord("A") + i) for i in range(22)]
    assert [s.code for s in plan.sections] == [
        "101",
        "102",
        "103",
        "104",
        "201",
        "202",
        "203",
        "204",
        "301",
        "302",
        "303",
    ]


def test_row_labels_continue_after_z():
    assert [row_label("theatre", i) for i in (0, 25, 26, 27, 51, 52, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]
    assert [row_label("stadium", i) for i in (0, 9, 29)] == ["1", "10", "30"]


def test_arena_and_theatre_terraces_are_standing_sections_with_outlines():
    arena = plan_layout(
        LayoutSpec(
            kind="arena",
            tiers=1,
            sections_per_tier=8,
            rows=4,
            seats_per_row=6,
            terraces=2,
            terrace_capacity=1500,
        )
    )
    theatre = plan_layout(
        LayoutSpec(
            kind="theatre",
            tiers=1,
            sections_per_tier=3,
            rows=5,
            seats_per_row=8,
            terraces=1,
            terrace_capacity=300,
        )
    )
    for plan, names in (
        (arena, [("内场站票1", "Floor standing 1"), ("内场站票2", "Floor standing 2")]),
        (theatre, [("站票区", "Standing area")]),
    ):
        standing = [s for s in plan.sections if s.kind == SectionKind.STANDING]
        assert [(s.name, s.name_en) for s in standing] == names
        assert all(
            s.rows == [] and len(s.outline) >= 4 and inside((s.label_x, s.label_y), s.outline)
            for s in standing
        )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "circus"}, "kind"),
        ({"tiers": 0}, "tiers"),
        ({"sections_per_tier": (4,)}, "sections_per_tier"),
        ({"rows": 0}, "rows"),
        ({"seats_per_row": 501}, "seats_per_row"),
        ({"seats_growth": -1.0}, "seats_growth"),
        ({"terraces": 1, "terrace_capacity": 0}, "terrace_capacity"),
        ({"width": 100}, "width"),
        ({"focal_x": 5000.0}, "focal_point"),
        ({"sections_per_tier": 99, "rows": 300, "seats_per_row": 500}, "places"),
    ],
)
def test_invalid_specs_name_the_field(changes, field):
    spec = LayoutSpec(**{**SMALL.__dict__, **changes})
    with pytest.raises(LayoutSpecInvalid) as info:
        plan_layout(spec)
    assert field in info.value.details
    assert info.value.code == "layout_spec_invalid"


# --- writing to the database ------------------------------------------------------------


@pytest.mark.django_db
def test_generate_small_stadium_writes_sections_rows_and_seats():
    # Given a venue
    venue = make_venue()
    # When a small stadium is generated
    layout = generate_layout(venue=venue, spec=SMALL, name="测试", name_en="Test")
    # Then
    assert (layout.name, layout.name_en, layout.width, layout.height) == (
        "测试",
        "Test",
        1800,
        1400,
    )
    assert list(Section.objects.filter(layout=layout).values_list("code", "kind", "capacity")) == [
        ("101", "seated", 0),
        ("102", "seated", 0),
        ("103", "seated", 0),
        ("104", "seated", 0),
        ("T1", "standing", 100),
        ("201", "seated", 0),
        ("202", "seated", 0),
        ("203", "seated", 0),
        ("204", "seated", 0),
    ]
    assert Row.objects.filter(section__layout=layout).count() == 8 * 3
    assert Seat.objects.filter(section__layout=layout).count() == 8 * 3 * 5
    row = Row.objects.get(section__layout=layout, section__code="102", label="2")
    assert list(row.seats.values_list("label", "position", "is_aisle")) == [
        ("1", 1, True),
        ("2", 2, False),
        ("3", 3, False),
        ("4", 4, False),
        ("5", 5, True),
    ]
    assert layout.shapes[0]["kind"] == "pitch"
    entry = AuditEntry.objects.get(action="layout.generated")
    assert (entry.object_id, entry.organization_id, entry.data) == (
        str(layout.pk),
        venue.organization_id,
        {"kind": "stadium", "seats": 120, "standing": 100},
    )


@pytest.mark.django_db
def test_generate_stadium_60k_in_a_few_seconds():
    venue = make_venue()
    started = time.perf_counter()
    layout = generate_layout(venue=venue, spec=LayoutSpec.stadium_60k())
    elapsed = time.perf_counter() - started
    assert Seat.objects.filter(section__layout=layout).count() == 58_192
    assert Section.objects.filter(layout=layout, kind="seated").count() == 84
    assert Section.objects.get(layout=layout, code="T1").capacity == 1_808
    # positions are 1..n in every row
    positions: dict[int, list[int]] = {}
    for row_id, position in (
        Seat.objects.filter(section__layout=layout)
        .order_by("row_id", "position")
        .values_list("row_id", "position")
    ):
        positions.setdefault(row_id, []).append(position)
    assert all(p == list(range(1, len(p) + 1)) for p in positions.values())
    assert elapsed < 30  # generous for slow CI; typically 2-3 s on SQLite


@pytest.mark.django_db
def test_invalid_spec_writes_nothing():
    venue = make_venue()
    with pytest.raises(LayoutSpecInvalid):
        generate_layout(venue=venue, spec=LayoutSpec(kind="stadium", rows=0))
    assert Layout.objects.count() == 0
    assert Seat.objects.count() == 0


@pytest.mark.django_db
def test_command_generates_a_custom_layout_and_prints_counts(capsys):
    venue = make_venue(slug="bowl")
    call_command(
        "generate_layout",
        "--venue",
        "bowl",
        "--kind",
        "stadium",
        "--tiers",
        "2",
        "--sections-per-tier",
        "4",
        "--rows",
        "3",
        "--seats-per-row",
        "5",
        "--terraces",
        "1",
        "--terrace-capacity",
        "100",
        "--name",
        "联赛",
    )
    out = capsys.readouterr().out
    layout = Layout.objects.get(venue=venue)
    assert out.startswith(
        f"Layout {layout.pk} (联赛 / Football) of bowl: 8 seated sections, 1 standing sections, "
        "24 rows, 120 seats, 100 standing places, 220 places in "
    )


@pytest.mark.django_db
def test_command_with_preset(capsys):
    make_venue(slug="hall")
    call_command("generate_layout", "--venue", "hall", "--preset", "theatre_2k")
    assert "11 seated sections, 0 standing sections, 132 rows, 2002 seats" in (
        capsys.readouterr().out
    )


@pytest.mark.django_db
def test_command_refuses_unknown_venue_and_bad_spec():
    make_venue(slug="hall")
    with pytest.raises(CommandError, match="No venue with slug 'nowhere'"):
        call_command("generate_layout", "--venue", "nowhere")
    with pytest.raises(CommandError, match="rows"):
        call_command("generate_layout", "--venue", "hall", "--rows", "0")
    assert Layout.objects.count() == 0
