"""The OpenAPI schema against its committed snapshot, so every API change shows in review.

The schema is rendered as canonical JSON (sorted keys, indent 2, UTF-8) and compared with
``tessera/core/tests/openapi.json``. After an intended API change, rewrite the snapshot and
review its diff with the code::

    TESSERA_UPDATE_SNAPSHOT=1 .venv/bin/pytest tessera/core/tests/test_openapi_snapshot.py

With ``TESSERA_UPDATE_SNAPSHOT=1`` the test writes the file instead of comparing (and passes).
"""

import json
import os
from pathlib import Path

from django.utils import translation

from tessera.api import api

SNAPSHOT = Path(__file__).with_name("openapi.json")


def render_schema() -> str:
    with translation.override("en"):
        schema = api.get_openapi_schema()
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_openapi_schema_matches_the_snapshot():
    current = render_schema()
    if os.environ.get("TESSERA_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(current, encoding="utf-8")
        return
    assert SNAPSHOT.exists(), "no snapshot yet: run with TESSERA_UPDATE_SNAPSHOT=1"
    committed = SNAPSHOT.read_text(encoding="utf-8")
    assert committed == current, (
        "The API changed. If that is intended, run with TESSERA_UPDATE_SNAPSHOT=1 and "
        "review the diff of tessera/core/tests/openapi.json."
    )


def test_rendering_is_canonical():
    # the same schema twice gives the same text: the snapshot only moves with the API
    assert render_schema() == render_schema()
    assert json.loads(render_schema())["info"] == {
        "title": "Tessera API",
        "version": "1",
        "description": "Events, sessions, venues, seating and sales of the Tessera ticketing "
        "platform.",
    }
