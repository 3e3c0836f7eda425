"""The Simplified Chinese catalog: complete, with the same placeholders as the English
source, and a compiled .mo that matches the .po (both are committed, so a machine
without gettext serves the same translations).

The .po is read with a small parser of our own: no extra dependency."""

import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LC_MESSAGES = Path(settings.BASE_DIR) / "tessera" / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


@dataclass
class Entry:
    line: int
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # form index -> text; 0 if singular
    flags: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        context = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        return f"line {self.line}: {context}{self.msgid!r}"


def _unquote(text: str, where: int) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"line {where}: not a quoted string: {text!r}")
    return re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], text[1:-1])


def parse_po(text: str) -> list[Entry]:
    """Entries of a .po file in order, the header (msgid "") first. Obsolete (#~) entries
    are left out; multi-line strings are joined; plural forms keep their index."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None  # which field continuation lines extend

    def finish():
        nonlocal entry, target
        if entry is not None:
            entries.append(entry)
        entry, target = None, None

    keyword = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")\s*$')
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#"):
            if entry is not None and entry.msgstr:  # a comment opens the next entry
                finish()
            if entry is None:
                entry = Entry(line=number)
            if line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        match = keyword.match(line)
        if match:
            name, index, value = match.group(1), match.group(2), _unquote(match.group(3), number)
            if name in ("msgctxt", "msgid") and entry is not None and entry.msgstr:
                finish()
            if entry is None:
                entry = Entry(line=number)
            if name == "msgstr":
                form = int(index) if index is not None else 0
                entry.msgstr[form] = value
                target = ("msgstr", form)
            else:
                setattr(entry, name, value)
                target = (name, 0)
            continue
        if line.startswith('"') and entry is not None and target is not None:
            value = _unquote(line, number)
            name, form = target
            if name == "msgstr":
                entry.msgstr[form] += value
            else:
                setattr(entry, name, getattr(entry, name) + value)
            continue
        raise ValueError(f"line {number}: cannot parse {raw!r}")
    finish()
    return entries


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    return parse_po(PO_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def messages(po_entries) -> list[Entry]:
    """The entries without the header."""
    assert po_entries[0].msgid == "" and po_entries[0].msgctxt is None
    return po_entries[1:]


def _header(po_entries) -> dict[str, str]:
    fields = {}
    for line in po_entries[0].msgstr[0].splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


_PERCENT = re.compile(r"%(?:\((\w+)\))?[#0 +\-]*(?:\d+|\*)?(?:\.\d+)?([diouxXeEfFgGcrsa%])")
_BRACE = re.compile(r"\{\w*(?:[.\[][^{}]*)?(?:![rsa])?(?::[^{}]*)?\}")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")


def placeholders(text: str, python_format: bool) -> list[str]:
    """Format placeholders and HTML tags, sorted: named or positional %-placeholders
    (python-format entries only, ``%%`` left out), ``{name}`` fields and tags."""
    found = []
    if python_format:
        found += [m.group(0) for m in _PERCENT.finditer(text) if m.group(2) != "%"]
    found += _BRACE.findall(text)
    found += _TAG.findall(text)
    return sorted(found)


# -- the parser itself ---------------------------------------------------------------------


def test_the_parser_reads_multiline_strings_contexts_plurals_and_flags():
    text = "\n".join(
        [
            "# comment",
            'msgid ""',
            'msgstr ""',
            '"Language: zh_Hans\\n"',
            '"Plural-Forms: nplurals=1; plural=0;\\n"',
            "",
            "#: a.py:1",
            "#, fuzzy, python-format",
            'msgctxt "compass"',
            'msgid ""',
            '"Two "',
            '"lines \\"quoted\\""',
            'msgid_plural "%(n)d things"',
            'msgstr[0] "%(n)d 个"',
            '"东西"',
            '#~ msgid "old"',
            '#~ msgstr "旧"',
            "",
            'msgid "Tab\\there"',
            'msgstr "制表"',
        ]
    )
    header, first, second = parse_po(text)
    assert header.msgstr[0] == "Language: zh_Hans\nPlural-Forms: nplurals=1; plural=0;\n"
    assert (first.msgctxt, first.msgid, first.msgid_plural) == (
        "compass",
        'Two lines "quoted"',
        "%(n)d things",
    )
    assert first.msgstr == {0: "%(n)d 个东西"}
    assert first.flags == {"fuzzy", "python-format"}
    assert (second.msgid, second.msgstr, second.flags) == ("Tab\there", {0: "制表"}, set())


def test_placeholders_are_found_and_literal_percents_are_not():
    assert placeholders("%(count)d of %(total)s, %s and 100%%", python_format=True) == sorted(
        ["%(count)d", "%(total)s", "%s"]
    )
    assert placeholders("{name} <strong>{n:>3}</strong>", python_format=False) == sorted(
        ["{name}", "{n:>3}", "<strong>", "</strong>"]
    )


# -- the catalog ---------------------------------------------------------------------------


def test_the_header_declares_simplified_chinese_utf8_and_one_plural_form(po_entries):
    header = _header(po_entries)
    assert header["Language"] == "zh_Hans"
    assert header["Project-Id-Version"].startswith("Tessera")
    assert header["Content-Type"] == "text/plain; charset=UTF-8"
    assert header["Plural-Forms"] == "nplurals=1; plural=0;"
    assert "fuzzy" not in po_entries[0].flags


def test_every_message_is_translated_and_none_is_fuzzy(messages):
    assert len(messages) > 100
    untranslated = [
        entry.label
        for entry in messages
        if not entry.msgstr or any(not text.strip() for text in entry.msgstr.values())
    ]
    fuzzy = [entry.label for entry in messages if "fuzzy" in entry.flags]
    assert untranslated == []
    assert fuzzy == []


def test_plural_messages_have_exactly_the_one_chinese_form(messages):
    wrong = [
        entry.label
        for entry in messages
        if entry.msgid_plural is not None and sorted(entry.msgstr) != [0]
    ]
    singular_with_forms = [
        entry.label
        for entry in messages
        if entry.msgid_plural is None and entry.msgstr.keys() != {0}
    ]
    assert wrong == []
    assert singular_with_forms == []


def test_translations_keep_the_placeholders_and_tags_of_the_source(messages):
    mismatched = []
    for entry in messages:
        python_format = "python-format" in entry.flags
        # With one plural form, msgstr[0] serves every count: it speaks as the plural does.
        source = entry.msgid_plural if entry.msgid_plural is not None else entry.msgid
        expected = placeholders(source, python_format)
        for form, text in entry.msgstr.items():
            got = placeholders(text, python_format)
            if got != expected:
                mismatched.append(f"{entry.label} msgstr[{form}]: {got} != {expected}")
    assert mismatched == []


def _mo_lookup(catalog: gettext.GNUTranslations, entry: Entry, n: int) -> str:
    if entry.msgid_plural is not None:
        if entry.msgctxt is not None:
            return catalog.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
        return catalog.ngettext(entry.msgid, entry.msgid_plural, n)
    if entry.msgctxt is not None:
        return catalog.pgettext(entry.msgctxt, entry.msgid)
    return catalog.gettext(entry.msgid)


def test_the_compiled_mo_was_compiled_from_this_po(messages):
    """Every .po message reads back from the .mo with the .po's text, and the .mo holds
    no message the .po does not: a stale or missing compile fails here."""
    with MO_PATH.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)
    stale = [
        f"{entry.label} n={n}: {_mo_lookup(catalog, entry, n)!r} != {entry.msgstr[0]!r}"
        for entry in messages
        for n in ((1, 2, 5) if entry.msgid_plural is not None else (1,))
        if _mo_lookup(catalog, entry, n) != entry.msgstr[0]
    ]
    assert stale == []

    def mo_key(key):
        return key[0] if isinstance(key, tuple) else key  # plural forms are (msgid, index)

    in_mo = {mo_key(key) for key in catalog._catalog if mo_key(key) != ""}
    in_po = {
        entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        for entry in messages
    }
    assert in_mo - in_po == set()
    assert in_po - in_mo == set()


def test_django_serves_the_project_translations_in_chinese(messages):
    """LOCALE_PATHS comes first: Django's own catalogs do not override ours."""
    wrong = []
    with translation.override("zh-hans"):
        for entry in messages:
            if entry.msgid_plural is not None:
                if entry.msgctxt is not None:
                    got = translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 2)
                else:
                    got = translation.ngettext(entry.msgid, entry.msgid_plural, 2)
            elif entry.msgctxt is not None:
                got = translation.pgettext(entry.msgctxt, entry.msgid)
            else:
                got = translation.gettext(entry.msgid)
            if got != entry.msgstr[0]:
                wrong.append(f"{entry.label}: {got!r} != {entry.msgstr[0]!r}")
    assert wrong == []
