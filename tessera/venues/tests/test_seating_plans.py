import copy
import json

import pytest
from django.core.management import CommandError, call_command

from tessera.core.models import AuditEntry
from tessera.venues.generator import LayoutSpec, generate_layout
from tessera.venues.models import Layout, Row, Seat, Section
from tessera.venues.seating_plans import MAX_ERRORS, SeatingPlanInvalid
from tessera.venues.services import UnknownPlanFormat, export_plan, import_plan
from tessera.venues.tests.factories import make_layout, make_venue

SMALL_THEATRE = LayoutSpec(
    kind="theatre",
    tiers=2,
    sections_per_tier=(3, 2),
    rows=(4, 3),
    seats_per_row=(6, 8),
    seats_growth=0.5,
    terraces=1,
    terrace_capacity=120,
    accessible_every=2,
    restricted_every=2,
)

PRETIX_PLAN = {
    "name": "Small hall",
    "categories": [{"name": "Stalls", "color": "#ff0000"}, {"name": "Balcony", "color": "#00ff00"}],
    "zones": [
        {
            "name": "Ground floor",
            "uuid": "z-1",
            "position": {"x": 100, "y": 200},
            "rows": [
                {
                    "row_number": "A",
                    "row_number_position": "both",
                    "uuid": "r-1",
                    "position": {"x": 10, "y": 5},
                    "seats": [
                        {
                            "seat_guid": "g-a1",
                            "seat_number": "1",
                            "position": {"x": 0, "y": 0},
                            "category": "Stalls",
                            "radius": 10,
                            "uuid": "s-1",
                        },
                        {
                            "seat_guid": "g-a2",
                            "seat_number": "2",
                            "position": {"x": 25.5, "y": 0},
                            "category": "Stalls",
                        },
                        {
                            "seat_guid": "g-a3",
                            "seat_number": "3",
                            "position": {"x": 51, "y": 0},
                            "category": "Stalls",
                        },
                    ],
                },
                {
                    "row_number": "B",
                    "position": {"x": 10, "y": 35},
                    "seats": [
                        {
                            "seat_guid": "g-b1",
                            "seat_number": "1",
                            "position": {"x": 0, "y": 0},
                            "category": "",
                        },
                        {
                            "seat_guid": "g-b2",
                            "seat_number": "2",
                            "position": {"x": 25.5, "y": 1.25},
                            "category": "Stalls",
                        },
                    ],
                },
            ],
            "areas": [
                {
                    "shape": "rectangle",
                    "uuid": "a-1",
                    "position": {"x": 0, "y": -150},
                    "rectangle": {"width": 200, "height": 80},
                    "rotation": 0,
                    "color": "#cccccc",
                    "border_color": "#000000",
                    "text": {"text": "Stage", "position": {"x": 100, "y": 40}, "color": "#333"},
                },
                {
                    "shape": "text",
                    "position": {"x": 5, "y": 5},
                    "text": {"text": "Exit", "position": {"x": 0, "y": 0}},
                },
            ],
        },
        {
            "name": "Balcony",
            "position": {"x": 400, "y": 500},
            "rows": [
                {
                    "row_number": 1,
                    "seats": [
                        {
                            "seat_guid": "g-c1",
                            "seat_number": 1,
                            "position": {"x": 3, "y": 4},
                            "category": "Balcony",
                        }
                    ],
                }
            ],
            "areas": [],
        },
    ],
    "size": {"width": 800, "height": 700},
}


def counts() -> tuple[int, int, int, int]:
    return (
        Layout.objects.count(),
        Section.objects.count(),
        Row.objects.count(),
        Seat.objects.count(),
    )


def seats_of(layout) -> list[tuple]:
    return list(
        Seat.objects.filter(section__layout=layout)
        .order_by("section__sort_order", "row__sort_order", "position")
        .values_list(
            "section__code",
            "row__label",
            "label",
            "position",
            "x",
            "y",
            "category",
            "guid",
            "is_aisle",
        )
    )


# --- Tessera format -----------------------------------------------------------------------


@pytest.mark.django_db
def test_native_round_trip_is_exact():
    # Given a generated theatre with a standing area, one seat carrying a guid and category
    venue = make_venue()
    layout = generate_layout(venue=venue, spec=SMALL_THEATRE, name="小剧场", name_en="Studio")
    Seat.objects.filter(
        section__layout=layout, section__code="101", row__label="A", label="1"
    ).update(guid="ext-1", category="VIP")
    first = export_plan(layout=layout)
    # When it is exported, imported (through JSON text) and exported again
    again = import_plan(venue=venue, data=json.dumps(first))
    second = export_plan(layout=again)
    # Then both exports are identical
    assert second == first
    assert first["format"] == "tessera.seating/1"
    assert (first["name"], first["name_en"]) == ("小剧场", "Studio")
    assert [s["code"] for s in first["sections"]] == ["101", "102", "103", "201", "202", "T1"]
    terrace = first["sections"][-1]
    assert (terrace["kind"], terrace["capacity"], terrace["rows"]) == ("standing", 120, [])
    seat = first["sections"][0]["rows"][0]["seats"][0]
    assert {k: seat[k] for k in ("number", "guid", "category", "accessible", "aisle")} == {
        "number": "1",
        "guid": "ext-1",
        "category": "VIP",
        "accessible": True,
        "aisle": True,
    }
    assert seats_of(again) == seats_of(layout)


@pytest.mark.django_db
def test_native_import_of_factory_layout_keeps_letters_and_positions():
    layout = make_layout(sections=1, rows=2, seats_per_row=3, standing_capacity=50)
    plan = export_plan(layout=layout)
    copy_layout = import_plan(venue=layout.venue, data=plan, name="副本")
    assert copy_layout.name == "副本"
    assert [(s[0], s[1], s[2], s[3], s[4], s[5]) for s in seats_of(copy_layout)] == [
        ("S1", "A", "1", 1, 50.0, 60.0),
        ("S1", "A", "2", 2, 70.0, 60.0),
        ("S1", "A", "3", 3, 90.0, 60.0),
        ("S1", "B", "1", 1, 50.0, 80.0),
        ("S1", "B", "2", 2, 70.0, 80.0),
        ("S1", "B", "3", 3, 90.0, 80.0),
    ]
    assert Section.objects.get(layout=copy_layout, code="GA").capacity == 50
    entry = AuditEntry.objects.get(action="layout.imported")
    assert entry.data == {"format": "tessera", "sections": 2, "seats": 6, "standing": 50}


# --- pretix format ---------------------------------------------------------------------


@pytest.mark.django_db
def test_pretix_import_adds_nested_positions_and_keeps_categories():
    venue = make_venue()
    layout = import_plan(venue=venue, data=PRETIX_PLAN)
    assert (layout.name, layout.width, layout.height) == ("Small hall", 800, 700)
    assert seats_of(layout) == [
        ("Ground floor", "A", "1", 1, 110.0, 205.0, "Stalls", "g-a1", True),
        ("Ground floor", "A", "2", 2, 135.5, 205.0, "Stalls", "g-a2", False),
        ("Ground floor", "A", "3", 3, 161.0, 205.0, "Stalls", "g-a3", True),
        ("Ground floor", "B", "1", 1, 110.0, 235.0, "", "g-b1", True),
        ("Ground floor", "B", "2", 2, 135.5, 236.25, "Stalls", "g-b2", True),
        ("Balcony", "1", "1", 1, 403.0, 504.0, "Balcony", "g-c1", True),
    ]
    # The stage area becomes a shape and the focal point is its centre.
    assert layout.shapes == [
        {
            "kind": "stage",
            "label": "Stage",
            "points": [[100.0, 50.0], [300.0, 50.0], [300.0, 130.0], [100.0, 130.0]],
        }
    ]
    assert (layout.focal_x, layout.focal_y, layout.focal_label) == (200.0, 90.0, "Stage")
    ground = Section.objects.get(layout=layout, code="Ground floor")
    assert (ground.name, ground.kind, ground.tier) == ("Ground floor", "seated", 1)
    assert (ground.label_x, ground.label_y) == (130.4, 217.2)
    xs = [p[0] for p in ground.outline]
    ys = [p[1] for p in ground.outline]
    assert min(xs) < 110 and max(xs) > 161 and min(ys) < 205 and max(ys) > 236.25


@pytest.mark.django_db
def test_pretix_zones_with_repeated_names_get_numbered_codes():
    plan = copy.deepcopy(PRETIX_PLAN)
    plan["zones"][1]["name"] = "Ground floor"
    layout = import_plan(venue=make_venue(), data=plan)
    assert list(Section.objects.filter(layout=layout).values_list("code", "name")) == [
        ("Z1", "Ground floor"),
        ("Z2", "Ground floor"),
    ]


@pytest.mark.django_db
def test_pretix_without_size_takes_the_seats_extent():
    plan = copy.deepcopy(PRETIX_PLAN)
    del plan["size"]
    layout = import_plan(venue=make_venue(), data=plan)
    assert (layout.width, layout.height) == (403 + 20, 504 + 20)


@pytest.mark.django_db
def test_pretix_export_then_import_gives_the_same_seats():
    # Given a generated theatre
    venue = make_venue()
    layout = generate_layout(venue=venue, spec=SMALL_THEATRE)
    # When exported to pretix format
    plan = export_plan(layout=layout, format="pretix")
    # Then the plan has the format's keys, categories from the seats, nested positions
    assert set(plan) == {"name", "categories", "zones", "size"}
    assert [c["name"] for c in plan["categories"]] == ["A", "B", "C"]
    assert plan["size"] == {"width": 1000, "height": 900}
    zone = next(z for z in plan["zones"] if z["name"] == "101")
    assert set(zone) == {"name", "position", "rows", "areas"}
    seat = Seat.objects.get(section__layout=layout, section__code="101", row__label="B", label="3")
    row = zone["rows"][1]
    exported = row["seats"][2]
    assert set(exported) == {"seat_guid", "seat_number", "position", "category"}
    assert (exported["seat_guid"], exported["seat_number"]) == ("101-B-3", "3")
    assert (
        zone["position"]["x"] + row["position"]["x"] + exported["position"]["x"],
        zone["position"]["y"] + row["position"]["y"] + exported["position"]["y"],
    ) == (pytest.approx(seat.x), pytest.approx(seat.y))
    assert all(isinstance(v, int) for v in (*zone["position"].values(), *row["position"].values()))
    # standing area and stage are drawn as areas
    terrace_zone = next(z for z in plan["zones"] if z["name"] == "T1")
    assert terrace_zone["rows"] == [] and terrace_zone["areas"][0]["text"] == "站票区"
    assert plan["zones"][0]["areas"][0]["text"] == "舞台"
    # When it is imported again
    again = import_plan(venue=venue, data=plan)
    # Then seats, rows, numbers, coordinates and categories are the same
    original = [s[:7] for s in seats_of(layout)]
    assert [s[:7] for s in seats_of(again)] == original
    assert [s.kind for s in Section.objects.filter(layout=again)] == ["seated"] * 5
    assert again.shapes[0]["kind"] == "stage"


@pytest.mark.django_db
def test_export_refuses_unknown_format():
    layout = make_layout(sections=1, rows=1, seats_per_row=1)
    with pytest.raises(UnknownPlanFormat):
        export_plan(layout=layout, format="svg")


# --- malformed plans ---------------------------------------------------------------------


def native_plan() -> dict:
    return {
        "format": "tessera.seating/1",
        "name": "测试",
        "name_en": "Test",
        "size": {"width": 500, "height": 400},
        "focal_point": {"x": 250, "y": 20, "label": "舞台"},
        "shapes": [
            {"kind": "stage", "points": [[200, 0], [300, 0], [300, 40], [200, 40]], "label": "舞台"}
        ],
        "sections": [
            {
                "code": "101",
                "name": "101区",
                "name_en": "Block 101",
                "kind": "seated",
                "tier": 1,
                "capacity": 0,
                "outline": [[0, 50], [200, 50], [200, 150], [0, 150]],
                "label": {"x": 100, "y": 100},
                "rows": [
                    {
                        "label": "A",
                        "seats": [
                            {"number": "1", "x": 10, "y": 60},
                            {"number": "2", "x": 20, "y": 60},
                        ],
                    },
                    {
                        "label": "B",
                        "seats": [
                            {"number": "1", "x": 10, "y": 70},
                            {"number": "2", "x": 20, "y": 70},
                            {"number": "3", "x": 30, "y": 70},
                        ],
                    },
                ],
            },
            {
                "code": "GA",
                "name": "站票",
                "kind": "standing",
                "capacity": 300,
                "outline": [[250, 50], [450, 50], [450, 150], [250, 150]],
                "rows": [],
            },
        ],
    }


def test_the_valid_native_fixture_is_valid(db):
    layout = import_plan(venue=make_venue(), data=native_plan())
    assert Seat.objects.filter(section__layout=layout).count() == 5


def _break(mutate):
    plan = native_plan()
    mutate(plan)
    return plan


def _pretix_break(mutate):
    plan = copy.deepcopy(PRETIX_PLAN)
    mutate(plan)
    return plan


def _set(path, value):
    def mutate(plan):
        target = plan
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


MALFORMED = [
    pytest.param(
        _break(_set(["sections", 0, "rows", 1, "seats", 2, "x"], "30")),
        "sections[0].rows[1].seats[2].x",
        "must be a number",
        id="seat-x-string",
    ),
    pytest.param(
        _break(_set(["sections", 0, "rows", 1, "seats", 1, "number"], "1")),
        "sections[0].rows[1].seats[1]",
        'duplicate seat number "1" in row "B"',
        id="duplicate-seat-number",
    ),
    pytest.param(
        _break(_set(["sections", 1, "code"], "101")),
        "sections[1].code",
        'duplicate section code "101" (also in sections[0])',
        id="duplicate-section-code",
    ),
    pytest.param(
        _break(_set(["sections", 0, "rows", 1, "label"], "A")),
        "sections[0].rows[1].label",
        'duplicate row label "A"',
        id="duplicate-row-label",
    ),
    pytest.param(
        _break(
            lambda p: (
                p["sections"][0]["rows"][1]["seats"][0].update(guid="x")
                or p["sections"][0]["rows"][0]["seats"][0].update(guid="x")
            )
        ),
        "sections[0].rows[1].seats[0].guid",
        'duplicate guid "x" (also sections[0].rows[0].seats[0])',
        id="duplicate-guid",
    ),
    pytest.param(
        _break(_set(["sections", 1, "capacity"], 0)),
        "sections[1].capacity",
        "a standing section needs a capacity of at least 1",
        id="standing-without-capacity",
    ),
    pytest.param(
        _break(_set(["sections", 1, "rows"], [{"label": "A", "seats": []}])),
        "sections[1].rows",
        "a standing section has no rows",
        id="standing-with-rows",
    ),
    pytest.param(
        _break(_set(["sections", 0, "kind"], "sofa")),
        "sections[0].kind",
        'must be "seated" or "standing"',
        id="unknown-kind",
    ),
    pytest.param(
        _break(_set(["sections", 0, "rows"], [])),
        "sections[0].rows",
        "a seated section needs at least one row",
        id="seated-no-rows",
    ),
    pytest.param(
        _break(_set(["size", "width"], 0)),
        "size.width",
        "must be between 1 and 100000",
        id="zero-width",
    ),
    pytest.param(
        _break(_set(["sections", 0, "outline", 2], [200])),
        "sections[0].outline[2]",
        "must be a point [x, y]",
        id="bad-outline-point",
    ),
    pytest.param(
        _break(_set(["sections", 0, "rows", 0, "seats", 0, "aisle"], "yes")),
        "sections[0].rows[0].seats[0].aisle",
        "must be true or false",
        id="bad-flag",
    ),
    pytest.param(
        _break(
            _set(["sections", 0, "rows", 0, "seats"], [{"number": "1", "x": 1, "y": 1}] * 200_001)
        ),
        "sections",
        "200004 seats; a plan may have at most 200000",
        id="too-many-seats",
    ),
    pytest.param(
        _break(_set(["format"], "tessera.seating/9")),
        "format",
        'unknown format; expected "tessera.seating/1"',
        id="unknown-format",
    ),
    pytest.param(
        {"hello": "world"},
        "$",
        'neither a Tessera plan ("format") nor a pretix plan ("zones")',
        id="no-format",
    ),
    pytest.param(
        '{"zones": [', "$", "not valid JSON (line 1, column 12): Expecting value", id="not-json"
    ),
    pytest.param(
        _pretix_break(_set(["zones", 0, "rows", 1, "seats", 1, "seat_number"], "1")),
        "zones[0].rows[1].seats[1]",
        'duplicate seat number "1" in row "B"',
        id="pretix-duplicate-seat-number",
    ),
    pytest.param(
        _pretix_break(_set(["zones", 0, "rows", 0, "seats", 0, "category"], "VIP")),
        "zones[0].rows[0].seats[0].category",
        'unknown category "VIP"; the plan defines: Stalls, Balcony',
        id="pretix-unknown-category",
    ),
    pytest.param(
        _pretix_break(_set(["zones", 1, "rows", 0, "seats", 0, "seat_guid"], "g-a1")),
        "zones[1].rows[0].seats[0].seat_guid",
        'duplicate guid "g-a1" (also zones[0].rows[0].seats[0])',
        id="pretix-duplicate-guid",
    ),
    pytest.param(
        _pretix_break(_set(["zones", 0, "rows", 1, "row_number"], "A")),
        "zones[0].rows[1].row_number",
        'duplicate row number "A" in this zone (also rows[0])',
        id="pretix-duplicate-row",
    ),
    pytest.param(
        _pretix_break(_set(["zones", 0, "rows", 0, "position", "y"], None)),
        "zones[0].rows[0].position.y",
        "is required",
        id="pretix-missing-y",
    ),
    pytest.param(
        _pretix_break(lambda p: p["zones"][0]["rows"][0]["seats"][2].pop("seat_guid")),
        "zones[0].rows[0].seats[2].seat_guid",
        "is required",
        id="pretix-missing-guid",
    ),
    pytest.param(
        _pretix_break(_set(["zones"], [])), "zones", "the plan has no seats", id="pretix-no-seats"
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("plan", "path", "message"), MALFORMED)
def test_malformed_plans_are_refused_with_the_exact_place(plan, path, message):
    # Given a venue with one layout already
    existing = make_layout(sections=1, rows=1, seats_per_row=2)
    before = counts()
    # When a malformed plan is imported
    with pytest.raises(SeatingPlanInvalid) as info:
        import_plan(venue=existing.venue, data=plan)
    # Then the error names the place and field, and nothing was written
    assert info.value.details["errors"][0] == {"path": path, "message": message}
    assert str(info.value.message).startswith(f"The seating plan is not valid: {path}: {message}")
    assert info.value.code == "seating_plan_invalid"
    assert counts() == before


@pytest.mark.django_db
def test_many_errors_are_collected_up_to_the_limit():
    plan = native_plan()
    plan["sections"][0]["rows"][1]["seats"] = [
        {"number": str(i), "x": "?", "y": 1} for i in range(30)
    ]
    before = counts()
    with pytest.raises(SeatingPlanInvalid) as info:
        import_plan(venue=make_venue(), data=plan)
    errors = info.value.details["errors"]
    assert len(errors) == MAX_ERRORS
    assert errors[:2] == [
        {"path": "sections[0].rows[1].seats[0].x", "message": "must be a number"},
        {"path": "sections[0].rows[1].seats[1].x", "message": "must be a number"},
    ]
    assert str(info.value.message).endswith("(and 19 more errors)")
    assert counts()[0] == before[0] + 0 and counts()[1:] == before[1:]


@pytest.mark.django_db
def test_several_different_errors_are_reported_together():
    plan = native_plan()
    plan["name"] = ""
    plan["sections"][0]["rows"][0]["seats"][1]["y"] = None
    plan["sections"][1]["capacity"] = -5
    with pytest.raises(SeatingPlanInvalid) as info:
        import_plan(venue=make_venue(), data=plan)
    assert info.value.details["errors"] == [
        {"path": "name", "message": "must not be empty"},
        {"path": "sections[0].rows[0].seats[1].y", "message": "is required"},
        {"path": "sections[1].capacity", "message": "must be between 0 and 200000"},
    ]


# --- commands -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_and_export_commands(tmp_path, capsys):
    venue = make_venue(slug="hall")
    source = tmp_path / "plan.json"
    source.write_text(json.dumps(PRETIX_PLAN), encoding="utf-8")
    call_command("import_seating_plan", "hall", str(source), "--name", "小厅")
    layout = Layout.objects.get(venue=venue)
    assert capsys.readouterr().out == (
        f"Layout {layout.pk} (小厅) of hall: 2 sections, 3 rows, 6 seats.\n"
    )

    target = tmp_path / "out.json"
    call_command("export_seating_plan", str(layout.pk), "--format", "pretix", "-o", str(target))
    assert json.loads(target.read_text(encoding="utf-8")) == export_plan(
        layout=layout, format="pretix"
    )
    call_command("export_seating_plan", str(layout.pk))
    assert json.loads(capsys.readouterr().out) == export_plan(layout=layout)


@pytest.mark.django_db
def test_import_command_lists_the_errors(tmp_path):
    make_venue(slug="hall")
    source = tmp_path / "plan.json"
    source.write_text(json.dumps(MALFORMED[0].values[0]), encoding="utf-8")
    with pytest.raises(CommandError) as info:
        call_command("import_seating_plan", "hall", str(source))
    assert "  sections[0].rows[1].seats[2].x: must be a number" in str(info.value)
    with pytest.raises(CommandError, match="No venue with slug 'nowhere'"):
        call_command("import_seating_plan", "nowhere", str(source))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_seating_plan", "hall", str(tmp_path / "missing.json"))
    with pytest.raises(CommandError, match="No layout with id 999999"):
        call_command("export_seating_plan", "999999")
    assert Layout.objects.count() == 0
