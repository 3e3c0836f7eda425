"""The static venue overview builder: geometry read leniently, colours kept safe."""

import pytest
from django.utils import translation

from tessera.catalog.tests.factories import make_session, make_zone
from tessera.storefront.overview import build_overview, safe_color, text_color_on
from tessera.storefront.selectors import list_session_overviews
from tessera.storefront.tests.conftest import assign_sections
from tessera.venues.models import Layout, Section
from tessera.venues.tests.factories import make_venue


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("#C0392B", "#c0392b"),
        ("#abc", "#abc"),
        (" #123456 ", "#123456"),
        ("red", "#cfd4dc"),
        ("#12345", "#cfd4dc"),
        ("#123456;fill:url(x)", "#cfd4dc"),
        (None, "#cfd4dc"),
        (123, "#cfd4dc"),
    ],
)
def test_safe_color_accepts_only_hex_colours(value, expected):
    assert safe_color(value) == expected


@pytest.mark.parametrize(
    ("fill", "expected"),
    [
        ("#ffffff", "#111827"),
        ("#f2b33d", "#111827"),
        ("#1c1b2e", "#ffffff"),
        ("#b91c1c", "#ffffff"),
        ("#fff", "#111827"),
    ],
)
def test_label_colour_contrasts_with_the_fill(fill, expected):
    assert text_color_on(fill) == expected


def _layout_with(shapes, outlines):
    layout = Layout.objects.create(
        venue=make_venue(),
        name="测试",
        name_en="Test",
        width=100,
        height=100,
        focal_x=50,
        focal_y=5,
        focal_label="舞台",
        shapes=shapes,
    )
    for i, outline in enumerate(outlines):
        Section.objects.create(
            layout=layout, code=f"S{i}", name=f"{i}区", outline=outline, sort_order=i
        )
    return layout


@pytest.mark.django_db
def test_overview_reads_shapes_leniently_and_skips_what_cannot_be_drawn():
    # given shapes in every accepted form, and some broken ones
    layout = _layout_with(
        shapes=[
            {"kind": "pitch", "x": 10, "y": 20, "width": 80, "height": 40, "label": "球场"},
            {
                "type": "stage",
                "points": [[30, 0], [70, 0], [65, 10], [35, 10]],
                "label": "舞台",
                "label_en": "Stage",
            },
            {"kind": "pitch", "points": [[10, 20], [90, 20], [90, 60], [10, 60]]},
            {"kind": "area", "points": [[0, 95], [100, 95]]},
            {"kind": "court", "cx": 50, "cy": 50, "r": 5, "fill": "#123456"},
            {"kind": "stage", "w": 10, "h": 5, "x": 0, "y": 0, "color": "javascript:1"},
            {"kind": "broken", "x": 1},
            {"kind": "nan", "points": [[0, 0], [1, "a"], [2]]},
            "not a shape",
        ],
        outlines=[
            [[0, 60], [40, 60], [40, 90], [0, 90]],
            [[1, 1]],
            "junk",
            [[60, 60], {"x": 100, "y": 60}, [100, 90], [60, 90]],
        ],
    )
    session = make_session(layout=layout)
    zone = make_zone(session=session, code="A", color="#ff0000")
    assign_sections(session, {"S0": zone})
    session = type(session).objects.prefetch_related("price_zones").get(pk=session.pk)

    # when the overview is built in English
    with translation.override("en"):
        overview = build_overview(list_session_overviews([session])[session.id])

    # then six shapes are drawn (the invalid colour replaced), two sections survive
    assert [(s.tag, s.kind, s.fill, s.label) for s in overview.shapes] == [
        ("rect", "pitch", "#3c8d5a", ""),
        ("polygon", "stage", "#2d3142", ""),
        ("rect", "pitch", "#3c8d5a", ""),
        ("line", "area", "#e3e6eb", ""),
        ("ellipse", "court", "#123456", ""),
        ("rect", "stage", "#2d3142", ""),
    ]
    assert overview.shapes[1].attrs == {"points": "30,0 70,0 65,10 35,10"}
    # a pitch, given as a rectangle or as a rectangular polygon, gets its markings
    for pitch in (overview.shapes[0], overview.shapes[2]):
        assert pitch.attrs == {"x": "10", "y": "20", "width": "80", "height": "40"}
        assert pitch.lines == [("50", "20", "50", "60")]
        assert pitch.circle == ("50", "40", "6")
    assert overview.shapes[3].attrs == {"x1": "0", "y1": "95", "x2": "100", "y2": "95"}
    assert [(s.code, s.fill, s.zone_code, s.points) for s in overview.sections] == [
        ("S0", "#ff0000", "A", "0,60 40,60 40,90 0,90"),
        ("S3", "#cfd4dc", "", "60,60 100,60 100,90 60,90"),
    ]
    assert overview.has_unassigned is True
    assert overview.view_box == "-5 -5 110 105"
    # the stage is labelled once, at the focal point, in English
    assert (overview.focal_label, overview.focal_x, overview.focal_y) == ("Stage", "50", "5")


@pytest.mark.django_db
def test_overview_of_a_layout_without_geometry_uses_the_plan_size():
    layout = _layout_with(shapes=[], outlines=[])
    layout.focal_label = ""
    layout.save()
    session = make_session(layout=layout)

    overview = build_overview(list_session_overviews([session])[session.id])

    assert (overview.sections, overview.shapes, overview.legend) == ([], [], [])
    assert overview.view_box == "-5 -5 110 110"
