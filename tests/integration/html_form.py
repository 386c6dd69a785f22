"""The documentation form as a browser without JavaScript sends it: parse the page, change answers, post it.

`BrowserForm.open(session, url)` GETs the page and reads its one form: the hidden nonce, checked radios and
checkboxes, text, date and number inputs with a value, textareas. `answer(link_id, *values)` replaces what a
question sends; `submit()` posts the fields, url-encoded, to the form's action (on the page's own origin).
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import requests


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.action: str | None = None
        self.fields: dict[str, list[str]] = {}
        self.names: set[str] = set()
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "documentation-form":
            self.action = a.get("action")
        elif tag == "input" and a.get("name"):
            name, kind = a["name"], (a.get("type") or "text").lower()
            self.names.add(name)
            if kind in ("radio", "checkbox"):
                if "checked" in a:
                    self.fields.setdefault(name, []).append(a.get("value") or "on")
            elif a.get("value"):
                self.fields.setdefault(name, []).append(a["value"])
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], []
            self.names.add(a["name"])

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            if text:
                self.fields.setdefault(self._textarea, []).append(text)
            self._textarea = None


class BrowserForm:
    def __init__(self, session: requests.Session, url: str, response: requests.Response) -> None:
        self.session, self.url, self.response = session, url, response
        parser = _FormParser()
        parser.feed(response.text)
        self.action = urljoin(url, parser.action) if parser.action else None
        self.fields = parser.fields
        self.names = parser.names

    @classmethod
    def open(cls, session: requests.Session, url: str) -> BrowserForm:
        return cls(session, url, session.get(url, timeout=20))

    def value(self, link_id: str) -> list[str]:
        return self.fields.get(f"a:{link_id}", [])

    def asks(self, link_id: str) -> bool:
        return f"a:{link_id}" in self.names

    def answer(self, link_id: str, *values: str) -> BrowserForm:
        assert self.asks(link_id), f"the form has no question {link_id}"
        self.fields[f"a:{link_id}"] = list(values)
        return self

    def submit(self) -> requests.Response:
        assert self.action, "no documentation form on the page"
        pairs = [(name, v) for name, values in self.fields.items() for v in values]
        return self.session.post(self.action, data=pairs, timeout=20, allow_redirects=False)
