"""The data-quality page's picture: the market's indicators by day
(`suptech.reconcile.quality_view.daily`)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from suptech.i18n import Words
from suptech.reconcile.card import NAMES
from suptech.reconcile.quality import INDICATORS
from suptech.server.charts import ENGLISH, LAYOUT


def quality_trend(days: pl.DataFrame, w: Words = ENGLISH) -> go.Figure:
    """Each indicator's market value by day, in %: those where more is better on the
    left, the others on the right."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(w("more is better"),
                                                        w("less is better")))
    for (indicator,), part in days.group_by(["indicator"], maintain_order=True):
        fig.add_scatter(x=[d.isoformat() for d in part["date"]],
                        y=(part["value"] * 100).to_list(),
                        mode="lines+markers", name=w(NAMES[indicator]),
                        row=1, col=1 if INDICATORS[indicator][1] else 2,
                        hovertemplate="%{x}: %{y:.3f} %<extra></extra>")
    fig.update_yaxes(ticksuffix=" %")
    fig.update_xaxes(type="category")  # trading days, not a continuous clock
    fig.update_layout(title=w("The market's data quality by day"),
                      **dict(LAYOUT, margin=dict(l=60, r=20, t=80, b=50)))
    return fig
