"""The investor profile's picture: where the investor's money went by product level,
beside the category they declared (`suptech.investor.profile`)."""

from __future__ import annotations

import plotly.graph_objects as go

from suptech.i18n import Words
from suptech.investor.suitability import LEVELS
from suptech.server.charts import ENGLISH, LAYOUT


def risk_profile(p: dict, w: Words = ENGLISH) -> go.Figure:
    """Amount bought at each level, red above the declared category (none for a
    professional), the category's edge dashed, the observed level marked."""
    top = p["declared_rank"] or len(LEVELS)
    amounts = [p[f"amount_r{k}"] for k in range(1, len(LEVELS) + 1)]
    fig = go.Figure(go.Bar(
        x=list(LEVELS), y=amounts, name=w("amount bought"),
        marker_color=["#b30000" if k > top else "#6baed6" for k in range(1, len(LEVELS) + 1)],
        hovertemplate="%{x}: %{y:,.0f}<extra></extra>"))
    if p["declared_rank"]:
        fig.add_vline(x=top - 0.5, line_dash="dash", line_color="#444444",
                      annotation_text=w("declared {category}", category=p["declared"]))
    fig.add_scatter(x=[LEVELS[p["observed"] - 1]], y=[max(amounts) * 1.08], mode="markers+text",
                    marker=dict(symbol="triangle-down", size=14, color="#222222"),
                    text=[w("observed")], textposition="top center", name=w("observed level"))
    fig.update_layout(title=w("Where the investor's money went, by product risk level"),
                      xaxis_title=w("product risk level"), yaxis_title=w("amount (CNY)"),
                      **dict(LAYOUT, height=360))
    return fig
