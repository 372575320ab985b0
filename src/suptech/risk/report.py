"""The daily risk report: one trading day's risk indicators as a PDF to print or send.

What the risk page shows, for the record: how many measures each indicator made and
how many reached their line, the heat map of shares by indicator, the institutions'
exposure contagion, every measure at or past its line with what it measured, and the
indices' levels over the month before. Made from the same levels as the page and the
alerts (`suptech.risk.levels`), in English or Chinese; the charts are drawn for print
(matplotlib), the document laid out by ReportLab, its pages rendered to PNG by PDFium
for whoever would rather look at images.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from suptech import pdf
from suptech.i18n import Words, words
from suptech.model.calendar import DEFAULT, day_of
from suptech.pdf import ReportError  # noqa: F401  (the report's error, where it was)
from suptech.risk.levels import LEVEL_COLOURS, grid, indicators, institutions, levels
from suptech.risk.rules import SHIPPED, rules

#: Shares in the heat map, institutions in their chart, measures in the table.
SHARES, BANKS, LISTED = 25, 20, 80


@dataclass(frozen=True)
class Made:
    pdf: Path
    pages: int
    measures: int
    at_line: int
    pngs: list[Path]


def daily_report(store, day: dt.date, out: Path, language: str = "en",
                 rules_path: Path | None = None, png: Path | None = None,
                 source: str = "", found: pl.DataFrame | None = None) -> Made:
    """The report of `day` on `store` as a PDF at `out` (and its pages as PNG files in
    `png`); `source` names the data in its heading; `found`: the day's levels under
    those rules, where they were measured already."""
    w = words(language)
    font = pdf.font(language)
    n = day_of(day)
    chosen = indicators(rules_path)
    if found is None:
        found = levels(store, n, n, chosen)
    if found.is_empty():
        raise ReportError(f"nothing to report on {day}: no trades, orders or exposures "
                          "measured that day (is it a trading day of the data?)")
    charts = _Charts(w, font)
    story = _story(w, font, day, found, chosen, charts, rules_path, source,
                   _indices(store, n))
    pages = _build(out, story, font, w, day)
    pngs = pdf.page_images(out, png) if png else []
    at_line = int((found["level"].round(9) >= 1).sum())
    return Made(out, pages, found.height, at_line, pngs)


def _indices(store, day: int) -> pl.DataFrame:
    """Each index's close on the 31 calendar days up to `day`: index_id, date, level."""
    t = store.view("index_level", start_ns=DEFAULT.day_start(day - 30),
                   end_ns=DEFAULT.day_start(day + 1))
    f = pl.from_arrow(t.select("index_id", "ts_event", "level").to_pyarrow())
    if f.is_empty():
        return pl.DataFrame(schema={"index_id": pl.String, "date": pl.Date,
                                    "level": pl.Float64})
    f = f.with_columns(date=DEFAULT.local_day(pl.col("ts_event")).cast(pl.Date),
                       level=pl.col("level").cast(pl.Float64))
    return f.sort("ts_event").group_by(["index_id", "date"]).agg(pl.col("level").last()) \
        .sort(["index_id", "date"])


class _Charts(pdf.Charts):
    """The report's charts as PNG bytes."""

    def __init__(self, w: Words, font: str):
        super().__init__(font)
        self.w = w

    def counts(self, table: pl.DataFrame) -> bytes:
        """Measures at or past the line, per indicator (horizontal bars)."""
        with self.plt.rc_context(self.style):
            fig, ax = self.plt.subplots(figsize=(6.5, 0.28 * table.height + 0.8))
            names = [self.w.typology(t) for t in table["typology"]]
            ax.barh(names, table["at_line"], color="#fc8d59")
            ax.invert_yaxis()
            ax.set_xlabel(self.w("at or past the line"))
            ax.set_xlim(0, max(1, int(table["at_line"].max() or 0)) * 1.15)
            ax.xaxis.get_major_locator().set_params(integer=True)
            for k, v in enumerate(table["at_line"]):
                ax.text(v, k, f" {v}", va="center")
            return self.png(fig)

    def heat(self, found: pl.DataFrame) -> bytes | None:
        from matplotlib.colors import LinearSegmentedColormap

        typologies, top, cell = grid(found, SHARES)
        if not top:
            return None
        z = [[min(cell[(s, t)]["level"], 2.0) if (s, t) in cell else float("nan")
              for t in typologies] for s in top]
        cmap = LinearSegmentedColormap.from_list("level", list(LEVEL_COLOURS))
        cmap.set_bad("#eeeeee")
        with self.plt.rc_context(self.style):
            fig, ax = self.plt.subplots(figsize=(6.5, 0.22 * len(top) + 1.8))
            im = ax.imshow(z, cmap=cmap, vmin=0, vmax=2, aspect="auto")
            ax.set_xticks(range(len(typologies)),
                          [self.w.typology(t) for t in typologies], rotation=35, ha="right")
            ax.set_yticks(range(len(top)), top)
            for i, row in enumerate(z):
                for j, v in enumerate(row):
                    if v == v:  # not NaN
                        ax.text(j, i, f"{cell[(top[i], typologies[j])]['level']:.2f}",
                                ha="center", va="center", fontsize=6)
            bar = fig.colorbar(im, ax=ax, ticks=[0, 0.5, 1, 1.5, 2])
            bar.ax.set_yticklabels(["0", "0.5", self.w("line"), "1.5", "≥2"])
            return self.png(fig)

    def banks(self, found: pl.DataFrame, line: float) -> bytes | None:
        top = institutions(found, BANKS)
        if top.is_empty():
            return None
        with self.plt.rc_context(self.style):
            fig, ax = self.plt.subplots(figsize=(6.5, 0.22 * top.height + 1.0))
            colours = ["#b30000" if lv >= 1 else "#6baed6" for lv in top["level"].round(9)]
            ax.barh(top["subject"], top["value"], color=colours)
            ax.axvline(line, color="#444444", linestyle="--", linewidth=1)
            ax.invert_yaxis()
            ax.set_xlabel(self.w("DebtRank: share of the system's capital lost if it fails "
                                 "(dashed: the line)"))
            return self.png(fig)

    def indices(self, ix: pl.DataFrame) -> bytes | None:
        if ix.is_empty():
            return None
        with self.plt.rc_context(self.style):
            fig, ax = self.plt.subplots(figsize=(6.5, 2.4))
            for (name,), part in ix.group_by(["index_id"], maintain_order=True):
                first = part["level"][0]
                ax.plot(part["date"], part["level"] / first * 100, label=name)
            ax.set_ylabel(self.w("level (first day = 100)"))
            ax.legend(fontsize=7, ncols=4)
            fig.autofmt_xdate()
            return self.png(fig)


def _summary(found: pl.DataFrame, chosen) -> pl.DataFrame:
    per = found.group_by("typology").agg(
        measured=pl.len(), at_line=(pl.col("level").round(9) >= 1).sum(),
        highest=pl.col("level").max())
    every = pl.DataFrame({"typology": [i.typology for i in chosen]})
    return every.join(per, on="typology", how="left").fill_null(0) \
        .sort(["at_line", "typology"], descending=[True, False])


def _facts(why: str | None) -> str:
    """A measure's explanation in a line: its values, without the sentence."""
    try:
        parts = json.loads(why or "{}")
    except ValueError:
        return ""
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in parts.items()
                     if k not in ("measure", "subject") and v is not None)[:160]


def _story(w, font, day, found, chosen, charts, rules_path, source, ix) -> list:
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, Spacer

    ss = getSampleStyleSheet()
    for s in ss.byName.values():
        s.fontName = font
    h1, h2, body, small = ss["Title"], ss["Heading2"], ss["BodyText"], ss["BodyText"].clone(
        "small", fontSize=7, leading=8.5)
    path = Path(rules_path) if rules_path else SHIPPED
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    summary = _summary(found, chosen)
    at_line = found.filter(pl.col("level").round(9) >= 1)
    story = [Paragraph(w("Daily risk report, {day}", day=day.isoformat()), h1),
             Paragraph(w("Data: {source}. Rules: {rules} (sha256 {digest}). Made {made}.",
                         source=source or "-", rules=path.name, digest=digest,
                         made=dt.datetime.now().strftime("%Y-%m-%d %H:%M")), small),
             Spacer(1, 3 * mm),
             Paragraph(w("{n} measures on the day, {m} at or past a rule's line.",
                         n=found.height, m=at_line.height), body),
             pdf.table([[w("indicator"), w("measured"), w("at or past the line"),
                      w("highest level")]]
                    + [[w.typology(r["typology"]), r["measured"], r["at_line"],
                        f"{r['highest']:.2f}"] for r in summary.iter_rows(named=True)],
                    font, [80 * mm, 25 * mm, 35 * mm, 25 * mm]),
             Spacer(1, 3 * mm), pdf.image(charts.counts(summary))]
    # A chart's heading stays on its chart's page.
    for title, png in ((w("Shares by indicator: a cell is the measure over its line"),
                        charts.heat(found)),
                       (w("Exposure contagion between institutions"),
                        charts.banks(found, rules(rules_path).debtrank.line)),
                       (w("The indices over the month"), charts.indices(ix))):
        if png:
            story.append(KeepTogether([Paragraph(title, h2), pdf.image(png)]))
    story.append(Paragraph(w("Measures at or past their line"), h2))
    rows = [[w("indicator"), w("subject"), w("share"), w("level"), w("what was measured")]]
    for r in at_line.head(LISTED).iter_rows(named=True):
        rows.append([w.typology(r["typology"]), Paragraph(r["subject"] or "", small),
                     r["isin"] or "", f"{r['level']:.2f}", Paragraph(_facts(r["why"]), small)])
    if len(rows) == 1:
        rows.append([w("none"), "", "", "", ""])
    story.append(pdf.table(rows, font, [32 * mm, 34 * mm, 24 * mm, 12 * mm, 78 * mm], size=7))
    if at_line.height > LISTED:
        story.append(Paragraph(w("and {n} more: suptech risk levels lists them all.",
                                 n=at_line.height - LISTED), small))
    return story


def _build(out: Path, story: list, font: str, w: Words, day: dt.date) -> int:
    return pdf.build(out, story, font, w("suptech daily risk report, {day}",
                                         day=day.isoformat()),
                     lambda n: w("page {n}", n=n), f"suptech risk report {day}")
