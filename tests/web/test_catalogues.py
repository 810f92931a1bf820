"""Every message shoppers and staff read exists in pt-BR, es and en, in its own domain.

Each domain is extracted exactly as its babel.cfg says (the commands are in the file)
and compared with its catalogues: every message translated, every plural form filled,
no fuzzy entry, and every translation takes the same ``%(name)s`` values as its source.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from rumbo.shared.i18n import LANGUAGES, catalogue_path, translations

SRC = Path(__file__).resolve().parents[2] / "src" / "rumbo"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "N_": None,
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]")

Message = str | tuple[str, ...]


@dataclass(frozen=True)
class Domain:
    name: str
    config: Path
    root: Path  # the directory the config's patterns are relative to
    sample: str  # a message the domain must hold
    minimum: int  # fewer extracted messages means extraction silently broke


DOMAINS = (
    Domain("messages", SRC / "web" / "babel.cfg", SRC / "web", "History", 50),
    Domain("console", SRC / "console" / "babel.cfg", SRC, "Sign in", 150),
)


def _extract(domain: Domain) -> tuple[set[Message], set[str]]:
    """The messages ``domain`` extracts (a message with a context as ``context\x04id``,
    gettext's own key), and the files they came from."""
    with domain.config.open() as fp:
        method_map, options_map = parse_mapping_cfg(fp)  # type: ignore[no-untyped-call]
    messages: set[Message] = set()
    files: set[str] = set()
    for filename, _, message, _, context in extract_from_dir(
        domain.root, method_map, options_map, keywords=KEYWORDS
    ):
        if context:
            message = f"{context}\x04{message}"
        messages.add(message if isinstance(message, str) else tuple(message))
        files.add(Path(filename).as_posix())
    return messages, files


# Each catalogue states its plural rule in its header, so how many forms a message needs
# is the catalogue's own answer and not the CLDR data of whichever Babel is installed
# (Babel 2.19 gives pt_BR three forms, "one", "many" and "other", where gettext has two).
PLURAL_FORMS = re.compile(r'^"Plural-Forms: nplurals=(\d+);', re.MULTILINE)


def _catalogue(language: str, domain: str) -> Catalog:
    with catalogue_path(language, domain).open("rb") as fp:
        return read_po(fp)


def _declared_plurals(language: str, domain: str) -> int | None:
    found = PLURAL_FORMS.search(catalogue_path(language, domain).read_text(encoding="utf-8"))
    return int(found.group(1)) if found else None


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_each_template_belongs_to_exactly_one_domain() -> None:
    _, shopper_files = _extract(DOMAINS[0])
    _, console_files = _extract(DOMAINS[1])
    shopper_templates = {f.removeprefix("templates/") for f in shopper_files}
    console_templates = {f.removeprefix("web/templates/") for f in console_files}
    assert not {f for f in shopper_templates if f.startswith(("console/", "analytics/"))}
    assert "console/login.html" in console_templates
    assert "console/pages.py" in console_files
    assert not shopper_templates & console_templates
    templates = SRC / "web" / "templates"
    with_text = {
        p.relative_to(templates).as_posix()
        for p in templates.rglob("*.html")
        if re.search(r"\b(_|gettext|ngettext)\(", p.read_text(encoding="utf-8"))
    }
    assert with_text <= shopper_templates | console_templates


def _problems(messages: set[Message], catalogue: Catalog) -> tuple[list[Message], list[str]]:
    """Messages ``catalogue`` lacks (or lacks a plural form of), and translations whose
    placeholders differ from their source's or that do not format."""
    entries = {(f"{m.context}\x04{m.id}" if m.context else m.id): m for m in catalogue if m.id}
    missing: list[Message] = []
    broken: list[str] = []
    for message in sorted(messages, key=str):
        entry = entries.get(message)
        if entry is None:
            missing.append(message)
            continue
        raw = entry.string
        strings = tuple(raw) if isinstance(raw, (tuple, list)) else (raw or "",)
        expected = catalogue.num_plurals if isinstance(message, tuple) else 1
        if len(strings) != expected or not all(strings):
            missing.append(message)
            continue
        sources = (message,) if isinstance(message, str) else message
        wanted = set().union(*(_placeholders(s) for s in sources))
        # A plural form may leave its count implicit ("um pedido"); nothing else.
        optional = {"num"} if isinstance(message, tuple) else set()
        for text in strings:
            given = _placeholders(text)
            try:
                text % dict.fromkeys(wanted, 1)  # newstyle gettext formats every message
            except (KeyError, ValueError, TypeError):
                broken.append(text)
                continue
            if wanted - given - optional or given - wanted:
                broken.append(text)
    return missing, broken


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language: str, domain: Domain) -> None:
    messages, _ = _extract(domain)
    assert len(messages) >= domain.minimum
    catalogue = _catalogue(language, domain.name)
    assert _declared_plurals(language, domain.name) == catalogue.num_plurals, (
        f"{language}/{domain.name} must state its Plural-Forms in its header"
    )
    missing, broken = _problems(messages, catalogue)
    assert not missing, f"{language}/{domain.name} lacks: {missing}"
    assert not broken, f"{language}/{domain.name} changes placeholders: {broken}"
    fuzzy = sorted(m.id for m in catalogue if m.id and m.fuzzy)
    assert not fuzzy, f"{language}/{domain.name} has fuzzy entries: {fuzzy}"
    loaded = translations(language, domain.name).gettext(domain.sample)
    sample = catalogue.get(domain.sample)
    assert sample is not None
    assert loaded == sample.string


def test_the_check_catches_missing_forms_and_changed_placeholders() -> None:
    # Built as the real catalogues are: a header with the language's two gettext forms.
    header = (
        'msgid ""\nmsgstr ""\n'
        '"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n'
    )
    catalogue = read_po(io.BytesIO(header.encode()), locale="pt_BR")
    assert catalogue.num_plurals == 2
    catalogue.add("Hello, %(name)s", "Olá, %(nome)s")
    catalogue.add("Sent %(when)s", "Enviada")
    catalogue.add("%(n)s%% on time", "%(n)s % no prazo")
    catalogue.add("Order %(id)s", "Pedido %(id)s")
    catalogue.add(("%(num)d order", "%(num)d orders"), ("um pedido", "%(num)d pedidos"))
    catalogue.add(("%(num)d note", "%(num)d notes"), ("%(num)d nota", ""))
    catalogue.add("Sign in", "")
    messages: set[Message] = {
        "Hello, %(name)s",
        "Sent %(when)s",
        "%(n)s%% on time",
        "Order %(id)s",
        ("%(num)d order", "%(num)d orders"),
        ("%(num)d note", "%(num)d notes"),
        "Sign in",
        "Sign out",
    }
    missing, broken = _problems(messages, catalogue)
    assert set(missing) == {("%(num)d note", "%(num)d notes"), "Sign in", "Sign out"}
    assert set(broken) == {"Olá, %(nome)s", "Enviada", "%(n)s % no prazo"}
