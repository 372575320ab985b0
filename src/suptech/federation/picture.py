"""The federation drawn: the four regions where they are, each node coloured by whether
it answers and its rulebook matches the published one, and between them what joint
work released: entities found shared by PSI, alerts shared."""

from __future__ import annotations

import plotly.graph_objects as go

from suptech.i18n import Words

#: Where each region's node is drawn: its capital's longitude and latitude.
PLACES = {"CN-SH": (121.47, 31.23), "CN-JS": (118.80, 32.06), "CN-ZJ": (120.15, 30.27),
          "CN-AH": (117.23, 31.82)}


def federation_map(fed: dict, w: Words) -> go.Figure:
    fig = go.Figure()
    links: dict[tuple[str, str], list[str]] = {}
    for r in fed["released"]:
        b = r["body"]
        if b.get("job") == "psi" and len(b.get("parties", [])) == 2:
            links.setdefault(tuple(sorted(b["parties"])), []).append(
                w("{n} shared entities", n=b["shared"]))
        elif b.get("job") == "alerts":
            for to in b["parties"]:
                if to != r["peer"]:
                    links.setdefault(tuple(sorted((r["peer"], to))), []).append(w("an alert shared"))
    for (a, b), said in sorted(links.items()):
        (x0, y0), (x1, y1) = PLACES.get(a, (0, 0)), PLACES.get(b, (0, 0))
        fig.add_trace(go.Scatter(x=[x0, x1], y=[y0, y1], mode="lines", showlegend=False,
                                 line=dict(width=2 + min(len(said), 6), color="#9bb"),
                                 hoverinfo="skip"))
        fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, showarrow=False,
                           text="<br>".join(sorted(set(said))), font=dict(size=11),
                           bgcolor="rgba(255,255,255,0.8)")
    for ok, name in ((True, w("in step")), (False, w("out of step or unreachable"))):
        members = [m for m in fed["members"] if (m.get("reachable") and not
                   m.get("rulebook_differences") and not m.get("agreements_behind")) == ok]
        fig.add_trace(go.Scatter(
            x=[PLACES.get(m["region"], (0, 0))[0] for m in members],
            y=[PLACES.get(m["region"], (0, 0))[1] for m in members], mode="markers+text",
            name=name, text=[f"{w.region(m['region'])} ({m['region']})" for m in members],
            textposition="top center", marker=dict(size=26, color="#2a7" if ok else "#c63",
                                                   line=dict(width=2, color="#333"))))
    fig.update_layout(margin=dict(l=20, r=20, t=30, b=20), height=420, template="plotly_white",
                      legend=dict(orientation="h", y=-0.05),
                      xaxis=dict(visible=False, range=[116.5, 122.3]),
                      yaxis=dict(visible=False, range=[29.8, 32.6], scaleanchor="x"))
    return fig
