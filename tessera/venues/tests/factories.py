import itertools

from tessera.accounts.models import OrganizationKind
from tessera.accounts.tests.factories import make_organization
from tessera.venues.models import City, Layout, Row, Seat, Section, SectionKind, Venue

_seq = itertools.count(1)


def make_city(**fields) -> City:
    n = next(_seq)
    return City.objects.create(
        name=fields.pop("name", f"城市{n}"),
        name_en=fields.pop("name_en", f"City {n}"),
        slug=fields.pop("slug", f"city-{n}"),
        **fields,
    )


def make_venue(*, organization=None, city=None, **fields) -> Venue:
    n = next(_seq)
    return Venue.objects.create(
        organization=organization or make_organization(kind=OrganizationKind.VENUE_OPERATOR),
        city=city or make_city(),
        name=fields.pop("name", f"场馆{n}"),
        name_en=fields.pop("name_en", f"Venue {n}"),
        slug=fields.pop("slug", f"venue-{n}"),
        **fields,
    )


def make_layout(
    *,
    venue=None,
    sections: int = 2,
    rows: int = 3,
    seats_per_row: int = 10,
    standing_capacity: int = 0,
    **fields,
) -> Layout:
    """A small rectangular layout: ``sections`` seated blocks side by side, rows labelled
    A, B, C…, seats numbered 1..n left to right, plus an optional standing area."""
    layout = Layout.objects.create(
        venue=venue or make_venue(),
        name=fields.pop("name", "标准"),
        name_en=fields.pop("name_en", "Standard"),
        width=1000,
        height=600,
        focal_x=500,
        focal_y=0,
        focal_label="舞台",
        **fields,
    )
    for s in range(sections):
        x0 = 50 + s * (seats_per_row * 20 + 40)
        section = Section.objects.create(
            layout=layout,
            code=f"S{s + 1}",
            name=f"{s + 1}区",
            name_en=f"Block {s + 1}",
            sort_order=s,
            outline=[
                [x0 - 10, 40],
                [x0 + seats_per_row * 20, 40],
                [x0 + seats_per_row * 20, 60 + rows * 20],
                [x0 - 10, 60 + rows * 20],
            ],
            label_x=x0 + seats_per_row * 10,
            label_y=30,
        )
        for r in range(rows):
            row = Row.objects.create(section=section, label=chr(ord("A") + r), sort_order=r)
            Seat.objects.bulk_create(
                Seat(
                    section=section,
                    row=row,
                    label=str(i + 1),
                    position=i + 1,
                    x=x0 + i * 20,
                    y=60 + r * 20,
                )
                for i in range(seats_per_row)
            )
    if standing_capacity:
        Section.objects.create(
            layout=layout,
            code="GA",
            name="内场站票",
            name_en="Floor standing",
            kind=SectionKind.STANDING,
            capacity=standing_capacity,
            sort_order=sections,
            outline=[[300, 400], [700, 400], [700, 550], [300, 550]],
            label_x=500,
            label_y=475,
        )
    return layout
