"""The audience views of the dashboard: funnel, channels, audience (new vs returning, cohorts),
engagement, and the period comparison per course and language on the overview.

Every view takes the sidebar's filters (the monthly marts take the months the period touches and
say so) and offers its table as CSV. Queries live in :mod:`dashboard.data`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import data

CHANNEL_LABELS = {
    "email": "E-mail",
    "paid_social": "Paid social",
    "paid_search": "Paid search",
    "organic_search": "Organic search",
    "organic_social": "Organic social",
    "partner": "Partner",
    "direct": "Direct",
    "unknown": "Unknown",
}
_NO_MARGINS = {"l": 10, "r": 10, "t": 10, "b": 10}
_CHART = {"displayModeBar": False}


def _csv(frame: pd.DataFrame, name: str, filters: data.Filters, key: str) -> None:
    st.download_button(
        "Download CSV",
        frame.to_csv(index=False).encode("utf-8"),
        file_name=f"{name}_{filters.start:%Y%m%d}_{filters.end:%Y%m%d}.csv",
        mime="text/csv",
        key=key,
    )


def _pct(value: Any) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.1%}"


def _int(value: Any) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{int(value):,}"


def _months_caption(filters: data.Filters) -> None:
    st.caption(
        f"Monthly figures: the months from {filters.start:%b %Y} to {filters.end:%b %Y} (a month is "
        "the finest grain of this view); platform, course and language filters apply, the webinar "
        "choice does not. Internal and test webinars are never included."
    )


def funnel_view(load: Callable[..., Any], dsn: str, filters: data.Filters) -> None:
    """Registered → attended → stayed ≥ N minutes → missed it live but watched the recording."""
    numbers = load(data.funnel, dsn, filters)
    st.subheader("Funnel")
    if not numbers["registered"]:
        st.info("No held webinar with registrations in the selection.")
        return
    minutes = st.segmented_control(
        "Stayed at least", (15, 30, 60), default=30, format_func=lambda m: f"{m} minutes", key="funnel_n"
    ) or 30
    stages = [
        ("Registered", numbers["registered"]),
        ("Attended live", numbers["attended"]),
        (f"Stayed ≥ {minutes} min", numbers[f"stayed_{minutes}m"]),
        ("Missed live, watched the recording", numbers["no_show_replay_viewers"]),
    ]
    fig = go.Figure(
        go.Funnel(
            y=[s for s, _ in stages], x=[n for _, n in stages], textinfo="value+percent initial",
            marker={"color": ["#9db4d6", "#2b5c9e", "#1f3f6e", "#e07b39"]},
        )
    )
    fig.update_layout(height=320, margin=_NO_MARGINS)
    st.plotly_chart(fig, width="stretch", config=_CHART)
    c1, c2, c3 = st.columns(3)
    c1.metric("Reached", _int(numbers["reached"]), border=True,
              help="People reached live (registered attendees and walk-ins) or by the recording, each once.")
    c2.metric("Recording viewers", _int(numbers["on_demand_viewers"]), border=True,
              help="Everyone who watched the recording, registered attendees included (BigMarker).")
    c3.metric("Show-up rate", _pct(numbers["attended"] / numbers["registered"]), border=True,
              help="Attended live / registered, held webinars of the selection.")
    frame = pd.DataFrame(
        [{"stage": s, "people": n, "share_of_registered": n / numbers["registered"]} for s, n in stages]
    )
    st.caption(
        f"{numbers['webinars']} held webinars. Registered attendees only: the {numbers['walk_ins']:,} "
        "walk-ins count in Reached. Recording views keep arriving for days after a webinar."
    )
    _csv(frame, "funnel", filters, "download_funnel_csv")


def channels_view(load: Callable[..., Any], dsn: str, filters: data.Filters) -> None:
    """Registrations, attendance and show-up rate per marketing channel."""
    frame = load(data.channels, dsn, filters)
    st.subheader("Where registrants come from")
    _months_caption(filters)
    if frame.empty:
        st.info("No registrations in the selection.")
        return
    labelled = frame.assign(label=frame.channel.map(lambda c: CHANNEL_LABELS.get(c, c)))
    ordered = labelled.sort_values("registrations")
    fig = go.Figure()
    fig.add_trace(go.Bar(y=ordered.label, x=ordered.registrations, orientation="h", name="Registered",
                         marker_color="#9db4d6"))
    fig.add_trace(go.Bar(y=ordered.label, x=ordered.attended, orientation="h", name="Attended",
                         marker_color="#2b5c9e", text=[_pct(v) for v in ordered.show_up_rate],
                         textposition="outside"))
    fig.update_layout(barmode="group", height=80 + 46 * len(ordered), margin=_NO_MARGINS,
                      legend={"orientation": "h", "y": 1.12}, xaxis_title="People (label: show-up rate)")
    st.plotly_chart(fig, width="stretch", config=_CHART)
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "channel": "Channel",
            "registrations": st.column_config.NumberColumn("Registered", format="%d"),
            "attended": st.column_config.NumberColumn("Attended", format="%d"),
            "show_up_rate": st.column_config.NumberColumn("Show-up rate", format="percent"),
            "share": st.column_config.NumberColumn("Share of registrations", format="percent"),
            "no_show_replay_viewers": st.column_config.NumberColumn("No-shows who watched the recording",
                                                                    format="%d"),
        },
    )
    _csv(frame, "channels", filters, "download_channels_csv")
    trend = load(data.channel_trend, dsn, filters)
    if not trend.empty:
        st.subheader("Registrations per month and channel")
        fig = go.Figure()
        for channel, rows in trend.groupby("channel", sort=False):
            fig.add_trace(go.Bar(x=[f"{m:%b %Y}" for m in rows.webinar_month], y=rows.registrations,
                                 name=CHANNEL_LABELS.get(str(channel), str(channel))))
        fig.update_xaxes(type="category", categoryorder="array",
                         categoryarray=[f"{m:%b %Y}" for m in sorted(trend.webinar_month.unique())])
        fig.update_layout(barmode="stack", height=320, margin=_NO_MARGINS,
                          legend={"orientation": "h", "y": 1.15})
        st.plotly_chart(fig, width="stretch", config=_CHART)
    unmapped = load(data.unmapped_channels, dsn)
    if not unmapped.empty:
        with st.expander(f"{len(unmapped)} raw value(s) the channel seed does not map (counted as Unknown)"):
            st.caption("Add a row per value to the seed `channel_map.csv` (dbt) to give them a channel.")
            st.dataframe(unmapped, hide_index=True, width="stretch")


def audience_view(load: Callable[..., Any], dsn: str, filters: data.Filters) -> None:
    """New vs returning registrants over time and the cohort heat map."""
    frame = load(data.audience, dsn, filters)
    st.subheader("New and returning registrants")
    _months_caption(filters)
    if frame.empty:
        st.info("No registrations in the selection.")
        return
    months = [f"{m:%b %Y}" for m in frame.webinar_month]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=months, y=frame.new_registrants, name="New", marker_color="#2b5c9e"))
    fig.add_trace(go.Bar(x=months, y=frame.returning_registrants, name="Returning", marker_color="#9db4d6"))
    fig.add_trace(go.Scatter(x=months, y=frame.repeat_attendees, name="Repeat attendees",
                             mode="lines+markers", line={"color": "#e07b39"}))
    fig.update_xaxes(type="category")
    fig.update_layout(barmode="stack", height=320, margin=_NO_MARGINS, legend={"orientation": "h", "y": 1.15})
    st.plotly_chart(fig, width="stretch", config=_CHART)
    st.dataframe(frame, hide_index=True, width="stretch")
    _csv(frame, "audience", filters, "download_audience_csv")

    cohorts = load(data.cohorts, dsn, filters)
    st.subheader("Cohorts: came back within …")
    st.caption(
        "People by the month of their first registration (and its course and language, as "
        "filtered): the share who registered again / attended again within 30, 90 and 180 days. "
        "Empty cells: the window has not passed yet for the whole cohort."
    )
    if cohorts.empty:
        st.info("No cohort in the selection.")
        return
    columns = [f"{kind}_again_{days}d" for kind in ("registered", "attended") for days in (30, 90, 180)]
    labels = [f"{'Registered' if c.startswith('registered') else 'Attended'} ≤ {c.split('_')[-1][:-1]} d"
              for c in columns]
    matrix = cohorts[columns].astype(float)
    fig = go.Figure(
        go.Heatmap(
            z=matrix.values, x=labels, y=[f"{m:%b %Y} ({n:,})" for m, n in zip(cohorts.cohort_month,
                                                                              cohorts.cohort_size,
                                                                              strict=True)],
            colorscale="Blues", zmin=0, zmax=max(0.01, float(matrix.max().max() or 0)),
            text=[[_pct(v) for v in row] for row in matrix.values], texttemplate="%{text}",
            hovertemplate="%{y}<br>%{x}: %{text}<extra></extra>",
        )
    )
    fig.update_layout(height=80 + 28 * len(cohorts), margin=_NO_MARGINS, yaxis={"autorange": "reversed"})
    st.plotly_chart(fig, width="stretch", config=_CHART)
    _csv(cohorts, "cohorts", filters, "download_cohorts_csv")


def engagement_view(load: Callable[..., Any], dsn: str, filters: data.Filters) -> None:
    """How engaged registered attendees were, per webinar."""
    frame = load(data.engagement, dsn, filters)
    st.subheader(f"Engagement ({len(frame)} held webinars)")
    if frame.empty:
        st.info("No held webinar in the selection.")
        return
    attended = frame.attended.sum()

    def weighted(column: str) -> float | None:
        rows = frame[frame[column].notna() & (frame.attended > 0)]
        total = rows.attended.sum()
        return float((rows[column] * rows.attended).sum() / total) if total else None

    score, minutes = weighted("avg_engagement_score"), weighted("avg_minutes_attended")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Engagement score", "n/a" if score is None else f"{score:.1f}", border=True,
              help="0-100: 70 % how much of the webinar they watched, 30 % chats, questions and polls "
              "(BigMarker) or Zoom's attentiveness; formula in docs/bi_marts.md (fct_registrations).")
    c2.metric("Avg minutes watched", "n/a" if minutes is None else f"{minutes:.1f}", border=True,
              help="Per registered attendee, from merged sessions: rejoins add up, a second device "
              "counts once.")
    c3.metric("Chats · questions · polls",
              f"{int(frame.chats.fillna(0).sum()):,} · {int(frame.questions.fillna(0).sum()):,} · "
              f"{int(frame.polls.fillna(0).sum()):,}", border=True, help="BigMarker webinars.")
    c4.metric("Stayed ≥ 30 min", _pct(frame.stayed_30m.sum() / attended if attended else None), border=True,
              help="Share of registered attendees who stayed at least 30 minutes.")
    by_course = (
        frame[frame.avg_engagement_score.notna()]
        .assign(points=lambda f: f.avg_engagement_score * f.attended)
        .groupby("course", as_index=False)[["points", "attended"]].sum()
    )
    if not by_course.empty:
        by_course["score"] = by_course.points / by_course.attended.where(by_course.attended > 0)
        by_course = by_course.sort_values("score")
        fig = go.Figure(go.Bar(y=by_course.course, x=by_course.score, orientation="h", marker_color="#2b5c9e",
                               text=[f"{v:.1f}" for v in by_course.score], textposition="outside"))
        fig.update_layout(height=80 + 40 * len(by_course), margin=_NO_MARGINS, xaxis_title="Engagement score",
                          xaxis={"range": [0, 100]})
        st.plotly_chart(fig, width="stretch", config=_CHART)
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "webinar_date": st.column_config.DateColumn("Date"),
            "platform": "Platform",
            "title": st.column_config.TextColumn("Title", width="large"),
            "attended": st.column_config.NumberColumn("Attended", format="%d"),
            "avg_minutes_attended": st.column_config.NumberColumn("Avg minutes", format="%.1f"),
            "avg_engaged_minutes": st.column_config.NumberColumn("Avg engaged min", format="%.1f"),
            "avg_engagement_score": st.column_config.NumberColumn("Engagement", format="%.1f"),
            "avg_attentiveness_score": st.column_config.NumberColumn("Attentiveness", format="%.1f"),
            "chats": st.column_config.NumberColumn("Chats", format="%d"),
            "questions": st.column_config.NumberColumn("Questions", format="%d"),
            "polls": st.column_config.NumberColumn("Polls", format="%d"),
            "stayed_30m": st.column_config.NumberColumn("Stayed ≥ 30 min", format="%d"),
            "replay_viewers": st.column_config.NumberColumn("Recording viewers", format="%d"),
            "webinar_id": "Webinar id",
        },
    )
    _csv(frame, "engagement", filters, "download_engagement_csv")


def course_language_comparison(load: Callable[..., Any], dsn: str, filters: data.Filters) -> None:
    """Per course and language: the period next to the comparison period, with the changes,
    and the monthly trend line per course."""
    previous = filters.previous_period()
    against = "the same dates a year earlier" if filters.compare == "year" else "the period before"
    st.subheader("By course and language")
    st.caption(f"Compared with {against}: {previous.start:%d %b %Y} to {previous.end:%d %b %Y}.")
    frame = load(data.course_language_deltas, dsn, filters)
    if frame.empty:
        st.info("No webinars in the selection.")
        return
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "course": "Course",
            "language": "Language",
            "registered": st.column_config.NumberColumn("Registered", format="%d"),
            "registered_before": st.column_config.NumberColumn("Before", format="%d"),
            "registered_change": st.column_config.NumberColumn("Δ registered", format="%+d"),
            "attended": st.column_config.NumberColumn("Attended", format="%d"),
            "attended_before": st.column_config.NumberColumn("Before", format="%d"),
            "attended_change": st.column_config.NumberColumn("Δ attended", format="%+d"),
            "show_up_rate": st.column_config.NumberColumn("Show-up", format="percent"),
            "show_up_rate_before": st.column_config.NumberColumn("Before", format="percent"),
            "show_up_rate_change": st.column_config.NumberColumn("Δ show-up (pts)", format="%+.3f"),
        },
    )
    _csv(frame, "by_course_language", filters, "download_course_language_csv")
    trend = load(data.monthly_by_course, dsn, filters)
    if trend.empty:
        return
    measure = st.segmented_control(
        "Trend per course", ("registered", "show_up_rate"), default="registered",
        format_func=lambda m: "Registrations" if m == "registered" else "Show-up rate", key="course_trend",
    ) or "registered"
    fig = go.Figure()
    for course, rows in trend.groupby("course", sort=True):
        fig.add_trace(go.Scatter(x=rows.month, y=rows[measure], name=str(course), mode="lines+markers"))
    fig.update_layout(height=320, margin=_NO_MARGINS, legend={"orientation": "h", "y": 1.15},
                      yaxis={"tickformat": ".0%"} if measure == "show_up_rate" else {})
    st.plotly_chart(fig, width="stretch", config=_CHART)
