"""An institution's monthly data-quality report card (PDF; its pages as PNG): its
indicators beside the market's, the days' trend, its breaks by kind and the first of
them, as its compliance team would read it. In English or Chinese."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from suptech import pdf
from suptech.i18n import N_, words
from suptech.model.calendar import date_of
from suptech.reconcile.breaks import CODES
from suptech.reconcile.quality import INDICATORS
from suptech.reconcile.quality_view import Month, daily, summary

#: Breaks listed one by one; the rest are counted.
LISTED = 60
#: Each indicator's name as the card and the page say it.
NAMES = {"rejected": N_("rejected"), "late": N_("late"),
         "late_corrections": N_("late corrections"), "paired": N_("paired"),
         "matched": N_("matched"), "under_reported": N_("under-reported"),
         "over_reported": N_("over-reported"), "corrections": N_("corrections"),
         "cancellations": N_("cancellations")}
MEANINGS = {k: v for k, (v, _) in INDICATORS.items()}


def report_card(m: Month, lei: str, out: Path, language: str = "en", name: str = "",
                png: Path | None = None) -> tuple[int, list[Path]]:
    """The card of `lei` for the month `m` at `out` (and its pages in `png`): its pages
    and the PNG files. ReportError where the month holds nothing of it."""
    w, font = words(language), pdf.font(language)
    s = summary(m).filter(pl.col("institution") == lei)
    if s.is_empty():
        raise pdf.ReportError(f"no data quality measured for {lei} in {m.label}: "
                              "run `suptech reconcile` over the month")
    mine = m.breaks.filter((pl.col("member") == lei) | (pl.col("venue") == lei))
    story = _story(w, font, m, lei, name, s, mine)
    pages = pdf.build(out, story, font, w("suptech data quality report card, {lei}, {month}",
                                          lei=lei, month=m.label),
                      lambda n: w("page {n}", n=n), f"suptech data quality {lei} {m.label}")
    return pages, pdf.page_images(out, png, lei) if png else []


def _story(w, font, m: Month, lei: str, name: str, s: pl.DataFrame,
           mine: pl.DataFrame) -> list:
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    styles = getSampleStyleSheet()
    h1, h2, body = (styles[k].clone(k, fontName=font) for k in ("Heading1", "Heading2",
                                                                "BodyText"))
    small = body.clone("small", fontSize=7, leading=9)
    story = [Paragraph(w("Data quality report card, {month}", month=m.label), h1),
             Paragraph(f"{name} {lei}".strip(), h2),
             Paragraph(w("How the reports this institution sent in {month} compare with the "
                         "market's: what was refused, came late, paired with the other "
                         "side's report and agreed with it, what was left out or reported "
                         "beyond the venue's own record. A value is flagged where what it "
                         "counts against the institution is over twice the market's.",
                         month=m.label), body), Spacer(1, 3 * mm)]
    rows = [[w("indicator"), w("what it counts"), w("this institution"), w("market"),
             w("flag")]]
    order = {k: i for i, k in enumerate(INDICATORS)}
    for r in sorted(s.iter_rows(named=True), key=lambda r: order[r["indicator"]]):
        rows.append([w(NAMES[r["indicator"]]), Paragraph(w(MEANINGS[r["indicator"]]), small),
                     f"{100 * r['value']:.2f} % ({r['numerator']:,} / {r['denominator']:,})",
                     f"{100 * r['market']:.2f} %", w("worse") if r["flagged"] else ""])
    story += [pdf.table(rows, font, [30 * mm, 52 * mm, 44 * mm, 22 * mm, 22 * mm]),
              Spacer(1, 4 * mm)]
    trend = _trend(w, font, daily(m, lei))
    if trend is not None:
        story += [Paragraph(w("By day"), h2), pdf.image(trend)]
    story.append(Paragraph(w("Breaks"), h2))
    kinds = mine.group_by("code", "kind").len().sort("code")
    story.append(pdf.table([[w("code"), w("break"), w("count")]] + [
        [c, k, f"{n:,}"] for c, k, n in kinds.iter_rows()] if kinds.height else
        [[w("code"), w("break"), w("count")], ["", w("none"), "0"]], font,
        [20 * mm, 60 * mm, 25 * mm]))
    if mine.height:
        story += [Spacer(1, 3 * mm), Paragraph(w("The first {n} of {m}", n=min(LISTED, mine.height),
                                                 m=mine.height), h2)]
        listed = [[w("day"), w("code"), w("field"), w("trade"), w("order"), w("report"),
                   w("other side")]]
        for r in mine.sort("day", "code").head(LISTED).iter_rows(named=True):
            ours = r["member_report_id"] if r["member"] == lei else r["venue_report_id"]
            other = r["venue"] if r["member"] == lei else r["member"]
            listed.append([date_of(r["day"]).isoformat(), r["code"],
                           r["field"] or "", r["trade_id"] or "", r["order_id"] or "",
                           ours or "", other or ""])
        story.append(pdf.table(listed, font, [20 * mm, 12 * mm, 22 * mm, 22 * mm, 24 * mm,
                                              28 * mm, 42 * mm], size=7))
    story += [Spacer(1, 3 * mm), Paragraph(w("Codes: {codes}.", codes="; ".join(
        f"{c} {k}" for k, c in CODES.items())), small)]
    return story


def _trend(w, font, days: pl.DataFrame) -> bytes | None:
    if days["day"].n_unique() < 2:  # one day is no trend: the table says it
        return None
    from matplotlib.dates import DateFormatter

    charts = pdf.Charts(font)
    with charts.plt.rc_context(charts.style):
        fig, axes = charts.plt.subplots(1, 2, figsize=(7.5, 2.6))
        for (indicator,), part in days.group_by(["indicator"], maintain_order=True):
            ax = axes[0] if INDICATORS[indicator][1] else axes[1]
            ax.plot(part["date"], part["value"] * 100, marker="o", markersize=3,
                    label=w(NAMES[indicator]))
        axes[0].set_title(w("more is better"), fontsize=8)
        axes[1].set_title(w("less is better"), fontsize=8)
        for ax in axes:
            ax.set_ylabel("%")
            ax.legend(fontsize=6)
            ax.ticklabel_format(axis="y", useOffset=False)
            ax.xaxis.set_major_formatter(DateFormatter("%m-%d"))
            ax.tick_params(axis="x", labelrotation=30)
        fig.tight_layout()
        return charts.png(fig)
