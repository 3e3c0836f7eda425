"""Read rendered pages in tests: the text of the elements with a class or an attribute."""

from html.parser import HTMLParser

_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
# Elements whose text reads apart from their neighbours' (as a screen reader says it).
_BLOCK = {
    "p",
    "div",
    "dt",
    "dd",
    "li",
    "td",
    "th",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "ul",
    "ol",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "title",
    "text",
    "figcaption",
    "label",
    "option",
}


class _Collector(HTMLParser):
    def __init__(self, match):
        super().__init__(convert_charrefs=True)
        self.match = match
        self.stack: list[tuple[str, int | None]] = []  # (tag, index into found or None)
        self.found: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attributes = {k: (v or "") for k, v in attrs}
        index = None
        if self.match(tag, attributes):
            self.found.append({"tag": tag, "attrs": attributes, "text": []})
            index = len(self.found) - 1
        if tag in _BLOCK:
            self._gap()
        if tag not in _VOID:
            self.stack.append((tag, index))

    def _gap(self):
        for _, index in self.stack:
            if index is not None:
                self.found[index]["text"].append(" ")

    def handle_startendtag(self, tag, attrs):
        attributes = {k: (v or "") for k, v in attrs}
        if self.match(tag, attributes):
            self.found.append({"tag": tag, "attrs": attributes, "text": []})

    def handle_endtag(self, tag):
        if tag in _VOID:
            return
        if tag in _BLOCK:
            self._gap()
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        for _, index in self.stack:
            if index is not None:
                self.found[index]["text"].append(data)


def elements(
    html: str, *, css_class: str | None = None, tag: str | None = None, **attrs: str
) -> list[dict]:
    """Elements whose class list has ``css_class`` (and tag and attributes equal), each as
    ``{"tag", "attrs", "text"}`` with the text normalised to single spaces."""
    wanted = {k.replace("_", "-"): v for k, v in attrs.items()}

    def match(found_tag, attributes):
        if tag and found_tag != tag:
            return False
        if css_class and css_class not in attributes.get("class", "").split():
            return False
        return all(attributes.get(k) == v for k, v in wanted.items())

    collector = _Collector(match)
    collector.feed(html)
    for item in collector.found:
        item["text"] = " ".join("".join(item["text"]).split())
    return collector.found


def texts(html: str, **criteria) -> list[str]:
    return [e["text"] for e in elements(html, **criteria)]
