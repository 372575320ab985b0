"""INSIDER_DEALING: trading ahead of price-sensitive news by insiders or their relatives.

Regulatory basis: EU MAR art. 8 and 14; Securities Law of the PRC art. 50-53 (insiders
and those who obtain inside information, and their relatives); CSRC rules on insider
lists (内幕信息知情人登记).

Signal: before a price-sensitive announcement, within `lookback_hours`, an account
owned by a party on the instrument's insider list (valid at the time), or by a member of
that party's household or control group, trades the instrument in the direction the
price then moved: by at least `min_move` between the mean prices over `move_minutes`
before the announcement and over as long after it, once `settle_minutes` have passed.

Known false positives: insiders trading under a pre-arranged plan or in an open window;
relatives who trade independently; news whose direction was expected by the market.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from suptech.detect.base import MINUTE, Detector, Params, one_account_hits, register


@dataclass(frozen=True)
class InsiderParams(Params):
    lookback_hours: float = 24
    move_minutes: float = 30
    settle_minutes: float = 5
    min_move: float = 0.01


@register
class InsiderDealing(Detector):
    id = "insider_dealing"
    typology = "INSIDER_DEALING"
    version = "1"
    Params = InsiderParams
    case = ("account_id", "isin", "announcement_id")

    def reach(self):
        # From the lookback's start to the end of the move's second span.
        p = self.params
        return int((p.lookback_hours * 60 + 2 * p.move_minutes + p.settle_minutes) * MINUTE)

    def anchors(self, m):
        """The price-sensitive news whose move may be yet to be known, with its trading
        clock (`news_tt`) and `done`: when the move after it is known, and so its
        episodes are done."""
        p = self.params
        after = int((p.settle_minutes + p.move_minutes) * MINUTE)
        news = m.announcements.filter(m.announcements.price_sensitive)
        news = m.anchored(m.timed(news, "ts_event", prefix="news_"), "news_tt", after)
        news, mic = m.venue(news)
        news = news.mutate(done=m.clock.window_end(
            news.news_tt + after, m.clock.day(news.ts_event, mic), mic))
        return news.drop("_mic") if mic is not None else news

    def episodes(self, m):
        """One row per trade of an insider (or relative) ahead of news it anticipated,
        done when the move after the news is known."""
        p = self.params
        # The price move: the mean price over `move_minutes` before the news against the
        # same span after it, leaving the book `settle_minutes` to absorb the news. Minutes
        # of trading time, so that the lunch break does not empty a side.
        span, settle = int(p.move_minutes * MINUTE), int(p.settle_minutes * MINUTE)
        news = self.anchors(m)
        t = m.anchored(m.trades, "tt", settle + 2 * span)  # a span before the news on
        nt = news.join(t, news.isin == t.isin).select(
            news.announcement_id, news_tt=news.news_tt, tt=t.tt,
            price=t.price.cast("float64"))
        before = nt.filter((nt.tt < nt.news_tt) & (nt.tt >= nt.news_tt - span))
        after = nt.filter((nt.tt >= nt.news_tt + settle) & (nt.tt < nt.news_tt + settle + span))
        pb = before.group_by("announcement_id").aggregate(p_before=before.price.mean())
        pa = after.group_by("announcement_id").aggregate(p_after=after.price.mean())
        moved = news.join(pb, "announcement_id").join(pa, "announcement_id")
        moved = moved.mutate(change=(moved.p_after - moved.p_before) / moved.p_before)
        moved = moved.filter(moved.change.abs() >= p.min_move).mutate(
            direction=ibis.ifelse(moved.change > 0, "BUY", "SELL"))
        # Who is an insider, or related to one: by party, then by household/control group.
        a = m.accounts
        ins = m.insiders
        pt = m.parties
        insider_keys = ins.join(pt, ins.party_id == pt.party_id).select(
            ins.isin, pt.group_key, valid_from=ins.valid_from, valid_to=ins.valid_to)
        x = m.executions.semi_join(moved, "isin")  # the shares in the news only
        cand = x.join(a.select("account_id", "group_key"), "account_id")
        cand = cand.join(insider_keys, ["isin", "group_key"])
        mv = moved.select("announcement_id", "isin", "direction", "done",
                          news_ts=moved.ts_event, change=moved.change)
        j = cand.join(mv, [cand.isin == mv.isin, cand.side == mv.direction])
        j = j.filter((j.ts_event < j.news_ts)
                     & (j.ts_event >= j.news_ts - int(p.lookback_hours * 60 * MINUTE))
                     & (j.valid_from.epoch_days() <= j.day)
                     & (j.valid_to.isnull() | (j.valid_to.epoch_days() >= j.day)))
        return j

    def cases(self, j):
        g = j.group_by(list(self.case)).aggregate(
            window_start=j.ts_event.min(), window_end=j.news_ts.max(),
            change=j.change.abs().max(), evidence=j.trade_id.collect())
        return one_account_hits(g, 0.5 + 5 * g.change, self.case)
