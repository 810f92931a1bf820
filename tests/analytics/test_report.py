"""The logistics report: one object, rendered as a partial and as a standalone offline file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from jinja2 import StrictUndefined
from typer.testing import CliRunner

from rumbo.analytics.report import Report, build_report, render_standalone
from rumbo.analytics.service import GroupBy, Stage
from rumbo.cli import app as cli
from rumbo.config import get_settings
from rumbo.db import Database
from rumbo.shared.i18n import template_environment
from tests.analytics.test_lanes_and_weeks import load
from tests.conftest import NOW, Tenant

START, END = date(2026, 1, 1), date(2026, 3, 1)


def report_of(db: Database, tenant: Tenant, group_by: GroupBy = GroupBy.LANE) -> Report:
    load(db, tenant)
    with db.session(write=False) as session:
        return build_report(session, tenant.merchant_id, START, END, NOW, group_by=group_by)


def urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href|url)\s*[=(]\s*["']?([^"')\s>]+)""", html, re.IGNORECASE)


def test_report_object_holds_every_figure(db: Database, tenant: Tenant) -> None:
    report = report_of(db, tenant)
    assert (report.total.orders, report.total.delivered) == (120, 120)
    assert report.total.on_time_rate == round(100 / 120, 4)
    assert report.total.stages[Stage.TRANSIT].p50_days == 2.0
    first = report.bottlenecks[0]
    assert (first.stage, first.group_by, first.group) == (Stage.TRANSIT, GroupBy.LANE, "SP>BA")
    assert [g.group for g in report.groups] == ["MG>RJ", "MG>BA", "SP>BA"]  # volume order
    assert report.histograms[Stage.TRANSIT].orders == 120
    assert sum(w.delivered for w in report.weeks) == 120
    assert {(c.origin, c.destination) for c in report.lanes} == {
        ("SP", "BA"),
        ("MG", "BA"),
        ("MG", "RJ"),
    }
    assert report.last_day == date(2026, 2, 28)


def test_standalone_report_shows_the_figures_and_loads_nothing(
    db: Database, tenant: Tenant
) -> None:
    html = render_standalone(report_of(db, tenant))
    assert html.startswith("<!doctype html>")
    assert urls(html) == []
    assert "http" not in html.lower()
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert '<dd id="rr-orders">120</dd>' in html
    assert '<dd id="rr-on-time">83.3%</dd>' in html
    # The first bottleneck row names the slow lane and its cost.
    body = html[html.index("<tbody>", html.index('id="rr-bottlenecks"')) :]
    first_row = body[: body.index("</tr>")]
    assert "SP&gt;BA" in first_row
    assert "120.0" in first_row
    # Four charts at least, each an accessible image with a title, plus data tables.
    charts = re.findall(
        r'<svg class="chart" role="img"[^>]*>\s*<title id="[^"]+">([^<]+)</title>', html
    )
    assert "How long each stage takes" in charts
    assert "On-time rate per purchase week" in charts
    assert "Lane heat map: median delivery days" in charts
    assert "Transit: distribution of durations" in charts
    assert html.count("<table") >= 6
    assert "SP → BA: 9.1 days, 20 orders, 0% on time" in html  # the heat-map cell's title
    assert ".rr-table" in html  # the stylesheet is inlined


def test_partial_needs_only_the_report_variable(db: Database, tenant: Tenant) -> None:
    env = template_environment("en", "console")
    env.undefined = StrictUndefined  # any other variable would raise
    html = env.get_template("analytics/_report.html").render(report=report_of(db, tenant))
    assert html.lstrip().startswith('<article class="rr" id="logistics-report" lang="en">')
    assert "<html" not in html
    assert urls(html) == []


def test_standalone_report_in_brazilian_portuguese(db: Database, tenant: Tenant) -> None:
    report = report_of(db, tenant)
    html = render_standalone(report, "pt-BR")
    assert '<html lang="pt-BR">' in html
    for label in (
        "Relatório logístico",
        "Gargalos",
        "Duração das etapas",
        "Tempo de manuseio",  # the warehouse stage, not the console's support "Handling"
        "Trânsito",
        "Última milha",
        "Pontualidade por semana de compra",
        "Por rota",
        "Quanto tempo leva cada etapa",  # drawn into the SVG's title
        "Mapa de calor das rotas: mediana de dias até a entrega",
        "Trânsito: distribuição das durações",
    ):
        assert label in html, label
    # Numbers and dates as Brazilians write them; the figures are the same.
    assert '<dd id="rr-on-time">83,3%</dd>' in html
    assert "SP → BA: 9,1 dias, 20 pedidos, 0% no prazo" in html
    assert "5 de jan. de 2026" in html
    for english in ("Bottlenecks", "Stage durations", "Last mile", "How long each stage takes"):
        assert english not in html, english
    # The report object itself is not changed: English stays English.
    assert report.language == "en"
    assert "Bottlenecks" in render_standalone(report)


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RUMBO_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_rumbo_report_writes_the_file(
    cli_env: None, db: Database, tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(db, tenant)
    runner = CliRunner()
    out = tmp_path / "ops.html"
    args = ["report", "--from", "2026-01-01", "--to", "2026-03-01", "--group-by", "state"]
    result = runner.invoke(cli, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out.resolve()) in result.output
    html = out.read_text(encoding="utf-8")
    assert "By destination state" in html
    assert '<dd id="rr-orders">120</dd>' in html

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["report", "--from", "2026-01-01", "--to", "2026-03-01"])
    assert result.exit_code == 0, result.output
    default = (tmp_path / "rumbo-report-2026-01-01-to-2026-02-28.html").read_text("utf-8")
    assert '<html lang="en">' in default

    spanish = tmp_path / "es.html"
    result = runner.invoke(cli, [*args, "--lang", "es", "--out", str(spanish)])
    assert result.exit_code == 0, result.output
    html = spanish.read_text(encoding="utf-8")
    assert '<html lang="es">' in html
    assert "Informe logístico" in html
    assert "Cuellos de botella" in html
    assert "Por estado de destino" in html


def test_rumbo_report_refuses_bad_input_without_writing(
    cli_env: None, db: Database, tenant: Tenant, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "never.html"
    common = ["--out", str(out)]
    backwards = runner.invoke(
        cli, ["report", "--from", "2026-03-01", "--to", "2026-01-01", *common]
    )
    assert backwards.exit_code == 2
    assert "'from' must be before 'to'" in backwards.output
    unknown = runner.invoke(
        cli, ["report", "--from", "2026-01-01", "--to", "2026-03-01", "--merchant", "999", *common]
    )
    assert unknown.exit_code == 2
    assert "No merchant 999" in unknown.output
    grouping = runner.invoke(
        cli, ["report", "--from", "2026-01-01", "--to", "2026-03-01", "--group-by", "planet"]
    )
    assert grouping.exit_code == 2
    not_a_date = runner.invoke(cli, ["report", "--from", "soon", "--to", "2026-03-01"])
    assert not_a_date.exit_code == 2
    language = runner.invoke(
        cli, ["report", "--from", "2026-01-01", "--to", "2026-03-01", "--lang", "fr", *common]
    )
    assert language.exit_code == 2
    assert "pt-BR, es, en" in language.output
    assert not out.exists()
