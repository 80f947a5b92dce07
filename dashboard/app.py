"""Webinar attendance dashboard (Streamlit): reads the published marts as ``bi_reader``.

Run it with ``make dashboard`` (or ``streamlit run dashboard/app.py`` with ``DWH_BI_DSN`` set).
All SQL lives in :mod:`dashboard.data`; this file lays out filters, KPI tiles, charts and tables.
Query results are cached for ``DASHBOARD_CACHE_TTL_S`` seconds (default 600): the marts change
once a day, after the morning run publishes. A missing or invalid setting, or a warehouse that
cannot be reached, shows one line saying what is wrong (never a traceback).
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `streamlit run` only adds dashboard/

from dashboard import audience_views, data

DEFAULT_DAYS = 90

# Settings are read once per script run; an invalid one is reported by main() in one line.
try:
    CACHE_TTL_S = data.cache_ttl_seconds()
except data.DashboardConfigError:
    CACHE_TTL_S = data.DEFAULT_CACHE_TTL_S  # main() stops with the message before any query
try:
    REPORTING_TZ = data.reporting_timezone()
except data.DashboardConfigError:
    REPORTING_TZ = ZoneInfo(data.DEFAULT_TIMEZONE)  # main() stops with the message

st.set_page_config(page_title="Webinar attendance", page_icon="📈", layout="wide")


# --------------------------------------------------------------------------- cached queries
# The DSN is an argument so the cache never serves one warehouse's numbers for another.


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _options(dsn: str) -> data.Options:
    return data.options(dsn)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _kpis(dsn: str, filters: data.Filters) -> data.Kpis:
    return data.kpis(dsn, filters)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _trend(dsn: str, filters: data.Filters) -> pd.DataFrame:
    return data.weekly_trend(dsn, filters)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _breakdown(dsn: str, filters: data.Filters, dimension: data.Dimension) -> pd.DataFrame:
    return data.breakdown(dsn, filters, dimension)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _webinars(dsn: str, filters: data.Filters) -> pd.DataFrame:
    return data.webinars(dsn, filters)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _unmapped(dsn: str) -> pd.DataFrame:
    return data.unmapped_webinars(dsn)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _vendor_values(dsn: str) -> pd.DataFrame:
    return data.vendor_value_notices(dsn)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _match_issues(dsn: str) -> int | None:
    return data.legacy_match_issue_count(dsn)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _freshness(dsn: str) -> data.Freshness | None:
    return data.freshness(dsn)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _upcoming(dsn: str, filters: data.Filters) -> pd.DataFrame:
    return data.upcoming(dsn, filters)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _pace(dsn: str, platform: str, webinar_id: str) -> pd.DataFrame:
    return data.pace_curve(dsn, platform, webinar_id)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _flags(dsn: str, filters: data.Filters) -> pd.DataFrame:
    return data.flags(dsn, filters)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _cached(name: str, *args: object) -> object:
    return getattr(data, name)(*args)


def _load(function: object, *args: object) -> object:
    """``function(*args)`` (a query of :mod:`dashboard.data`), cached like the queries above."""
    return _cached(function.__name__, *args)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- formatting


def fmt_int(value: int | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:,}"


def fmt_pct(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.1%}"


def fmt_minutes(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.1f} min"


def _delta_relative(now: float | None, before: float | None) -> str | None:
    if now is None or not before:
        return None
    return f"{(now - before) / before:+.1%}"


def _delta_points(now: float | None, before: float | None) -> str | None:
    if now is None or before is None:
        return None
    return f"{(now - before) * 100:+.1f} pp"


def _delta_minutes(now: float | None, before: float | None) -> str | None:
    if now is None or before is None:
        return None
    return f"{now - before:+.1f} min"


def _local(moment: datetime | None) -> str:
    return "unknown" if moment is None else moment.astimezone(REPORTING_TZ).strftime("%Y-%m-%d %H:%M %Z")


# --------------------------------------------------------------------------- layout


def header(dsn: str) -> data.Freshness | None:
    st.title("Webinar attendance")
    fresh = _freshness(dsn)
    if fresh is None:
        st.caption("Loaded at: unknown (mart `data_freshness` not published yet)")
    else:
        sources = ", ".join(f"{name} {_local(t)}" for name, t in fresh.per_source.items() if t is not None)
        st.caption(
            f"Loaded at **{_local(fresh.loaded_at)}** · data as of {_local(fresh.data_as_of)}"
            + (f" · per source: {sources}" if sources else "")
        )
    return fresh


def sidebar_filters(opts: data.Options, fresh: data.Freshness | None) -> data.Filters:
    """The filter widgets; returns the selection (``None`` = all for multi-choice fields)."""
    sb = st.sidebar
    sb.header("Filters")
    first = opts.first_date or date.today()
    last = opts.last_date or date.today()
    anchor = opts.last_held_date or last
    if fresh is not None and fresh.data_as_of is not None:
        anchor = min(max(fresh.data_as_of.astimezone(REPORTING_TZ).date(), first), last)
    default = (max(first, anchor - timedelta(days=DEFAULT_DAYS - 1)), anchor)
    preset = sb.selectbox(
        "Period", (f"Last {DEFAULT_DAYS} days / custom", *data.PRESETS), key="f_preset",
        help=f"Calendar periods end at the data's cut-off ({anchor:%d %b %Y}).",
    )
    if preset in data.PRESETS:
        start, end = data.preset_period(preset, anchor)
        sb.caption(f"{start:%d %b %Y} to {end:%d %b %Y}")
    else:
        # Streamlit's own bounds are ten years around the value; these are the data's: from the
        # first webinar to the last scheduled one (upcoming included), however far ahead it is.
        picked = sb.date_input(
            "Webinar date", value=default, min_value=first, max_value=max(last, anchor), key="f_dates",
            help=f"Webinar start date in {REPORTING_TZ.key}; both ends included. Upcoming webinars "
            f"(up to {last:%d %b %Y}) count only with 'Include upcoming webinars'.",
        )
        if isinstance(picked, tuple | list) and len(picked) == 2:
            start, end = picked
        else:  # the user is halfway through picking a range
            start = end = picked[0] if isinstance(picked, tuple | list) and picked else default[0]
    compare = sb.radio(
        "Compare with", ("previous", "year"), horizontal=True, key="f_compare",
        format_func=lambda c: "Period before" if c == "previous" else "Year over year",
        help="What the deltas compare with: the period of equal length just before, or the same "
        "dates a year earlier.",
    )
    platforms = sb.multiselect("Platform", opts.platforms, key="f_platform", placeholder="All platforms")
    courses = sb.multiselect("Course", opts.courses, key="f_course", placeholder="All courses")
    languages = sb.multiselect("Language", opts.languages, key="f_language", placeholder="All languages")
    candidates = opts.webinars
    candidates = candidates[(candidates.webinar_date >= start) & (candidates.webinar_date <= end)]
    for column, chosen in (("platform", platforms), ("course", courses), ("language", languages)):
        if chosen:
            candidates = candidates[candidates[column].isin(chosen)]
    labels = dict(zip(candidates.webinar_id, candidates.label, strict=True))
    webinar_ids = sb.multiselect(
        "Webinar", list(labels), format_func=lambda w: labels.get(w, w), key="f_webinar",
        placeholder="All webinars",
    )
    include_upcoming = sb.toggle(
        "Include upcoming webinars", value=False, key="f_upcoming",
        help="Upcoming webinars add their registrations so far; they have no attendance yet "
        "(shown empty) and never count in the show-up rate.",
    )
    include_internal = sb.toggle(
        "Include internal and test webinars", value=False, key="f_internal",
        help="Rehearsals and test sessions (seed internal_webinars) are left out of every KPI by "
        "default; the monthly views never include them.",
    )
    return data.Filters(
        start=start,
        end=end,
        platforms=tuple(platforms) or None,
        courses=tuple(courses) or None,
        languages=tuple(languages) or None,
        webinar_ids=tuple(webinar_ids) or None,
        include_upcoming=include_upcoming,
        include_internal=include_internal,
        compare=compare,
    )


def kpi_tiles(dsn: str, filters: data.Filters) -> None:
    now = _kpis(dsn, filters)
    prev_filters = filters.previous_period()
    before = _kpis(dsn, prev_filters)
    vs = f"vs {prev_filters.start:%d %b %Y} to {prev_filters.end:%d %b %Y}"
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Registered", fmt_int(now.registered), _delta_relative(now.registered, before.registered),
              help=f"Distinct registrations; change {vs}.", border=True)
    c2.metric("Attended", fmt_int(now.attended), _delta_relative(now.attended, before.attended),
              help=f"Registered people who attended held webinars, each once; change {vs}.", border=True)
    c3.metric("Show-up rate", fmt_pct(now.show_up_rate), _delta_points(now.show_up_rate, before.show_up_rate),
              help=f"Attended / registered, held webinars only; change in percentage points {vs}.",
              border=True)
    c4.metric("Avg minutes watched", fmt_minutes(now.avg_minutes),
              _delta_minutes(now.avg_minutes, before.avg_minutes),
              help=f"Mean minutes per attendee (registered attendees); change {vs}.", border=True)
    upcoming = f" (incl. {now.upcoming} upcoming: registrations only)" if now.upcoming else ""
    st.caption(
        f"{now.webinars} webinars{upcoming}, {fmt_int(now.walk_ins)} walk-ins (attended without "
        "registering; not in the rate) · deltas compare with "
        + ("the same dates a year earlier" if filters.compare == "year"
           else f"the {filters.days} days before")
        + f" ({vs.removeprefix('vs ')})."
    )


def trend_chart(dsn: str, filters: data.Filters) -> None:
    trend = _trend(dsn, filters)
    st.subheader("Weekly trend")
    if trend.empty:
        st.info("No webinars in the selection.")
        return
    # Every week of the selected period, labelled by its Monday, on a categorical axis: one
    # week (e.g. one selected webinar) is one labelled bar, never a time-of-day scale.
    weeks = data.complete_weeks(trend, filters.start, filters.end)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=weeks.week, y=weeks.registered, name="Registered", marker_color="#9db4d6"))
    fig.add_trace(go.Bar(x=weeks.week, y=weeks.attended, name="Attended", marker_color="#2b5c9e"))
    fig.add_trace(
        go.Scatter(x=weeks.week, y=weeks.show_up_rate, name="Show-up rate", mode="lines+markers",
                   line={"color": "#e07b39"}, connectgaps=False),
        secondary_y=True,
    )
    fig.update_layout(barmode="group", height=340, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      legend={"orientation": "h", "y": 1.1}, xaxis_title="Week starting (Monday)")
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text="People", secondary_y=False)
    fig.update_yaxes(title_text="Show-up rate", tickformat=".0%", rangemode="tozero", secondary_y=True)
    st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})


def breakdown_chart(dsn: str, filters: data.Filters, dimension: data.Dimension, title: str) -> None:
    frame = _breakdown(dsn, filters, dimension)
    st.subheader(title)
    if frame.empty:
        st.info("No webinars in the selection.")
        return
    frame = frame.sort_values("registered")
    fig = go.Figure()
    fig.add_trace(go.Bar(y=frame[dimension], x=frame.registered, orientation="h", name="Registered",
                         marker_color="#9db4d6"))
    fig.add_trace(go.Bar(y=frame[dimension], x=frame.attended, orientation="h", name="Attended",
                         marker_color="#2b5c9e",
                         text=[fmt_pct(v) for v in frame.show_up_rate], textposition="outside"))
    fig.update_layout(barmode="group", height=80 + 46 * len(frame),
                      margin={"l": 10, "r": 40, "t": 10, "b": 10}, legend={"orientation": "h", "y": 1.12},
                      xaxis_title="People (label: show-up rate)")
    st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})


def webinar_table(dsn: str, filters: data.Filters) -> None:
    frame = _webinars(dsn, filters)
    st.subheader(f"Webinars ({len(frame)})")
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "webinar_date": st.column_config.DateColumn("Date"),
            "platform": "Platform",
            "title": st.column_config.TextColumn("Title", width="large"),
            "course": "Course",
            "language": "Language",
            "registered": st.column_config.NumberColumn("Registered", format="%d"),
            "attended": st.column_config.NumberColumn("Attended", format="%d"),
            "walk_ins": st.column_config.NumberColumn("Walk-ins", format="%d"),
            "show_up_rate": st.column_config.NumberColumn("Show-up rate", format="percent"),
            "avg_minutes_attended": st.column_config.NumberColumn("Avg minutes", format="%.1f"),
            "total_minutes": st.column_config.NumberColumn("Total minutes", format="%.0f"),
            "is_held": "Held",
            "webinar_id": "Webinar id",
        },
    )
    st.download_button(
        "Download CSV",
        frame.to_csv(index=False).encode("utf-8"),
        file_name=f"webinars_{filters.start:%Y%m%d}_{filters.end:%Y%m%d}.csv",
        mime="text/csv",
        key="download_csv",
    )


FLAG_LABELS = {
    "show_up_outside_band": "Show-up outside the usual range",
    "pace_well_behind": "Registrations well behind",
    "course_registrations_drop": "Course registrations dropped",
}


def flag_notice(dsn: str, filters: data.Filters) -> None:
    """The anomaly flags of the selected courses/languages, one line each, in an expander."""
    flagged = _flags(dsn, filters)
    if flagged.empty:
        return
    with st.expander(f"⚑ {len(flagged)} flag(s) this morning: what deserves a look", expanded=False):
        for row in flagged.itertuples():
            label = FLAG_LABELS.get(row.flag, row.flag)
            st.markdown(f"**{label}** — {row.title or row.course}: {row.reason}")


def upcoming_view(dsn: str, filters: data.Filters) -> None:
    """Upcoming webinars: pace against comparable held webinars, forecast with its interval, flags."""
    frame = _upcoming(dsn, filters)
    st.subheader(f"Upcoming webinars ({len(frame)})")
    if frame.empty:
        st.info("No upcoming webinar matches the filters.")
        return
    week = frame[frame.days_to_start < 7]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Next 7 days", fmt_int(len(week)), border=True,
              help="Webinars starting within a week of the cut-off.")
    c2.metric("Registered so far", fmt_int(int(week.registered_so_far.sum())), border=True,
              help="Registrations of the next 7 days' webinars at the cut-off.")
    forecast = int(week.forecast_registrations.fillna(0).sum())
    c3.metric("Forecast registrations", fmt_int(forecast), border=True,
              help="Expected final registrations of the next 7 days' webinars (pace ratio against "
              "comparable held webinars; docs/design.md, Forecast).")
    behind = int(frame.pace_status.isin(["behind", "well behind"]).sum())
    c4.metric("Behind their pace", fmt_int(behind), border=True,
              help="Upcoming webinars below the 25th percentile of comparable webinars at the same point.")
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "webinar_date": st.column_config.DateColumn("Date"),
            "start_time": None,
            "platform": "Platform",
            "title": st.column_config.TextColumn("Title", width="large"),
            "course": "Course",
            "language": "Language",
            "registered_so_far": st.column_config.NumberColumn("Registered", format="%d"),
            "pace_status": "Pace",
            "forecast_registrations": st.column_config.NumberColumn("Forecast", format="%d"),
            "forecast_registrations_low": st.column_config.NumberColumn("Low", format="%d"),
            "forecast_registrations_high": st.column_config.NumberColumn("High", format="%d"),
            "forecast_attendees": st.column_config.NumberColumn("Attendees (forecast)", format="%d"),
            "forecast_attendees_low": None,
            "forecast_attendees_high": None,
            "days_to_start": st.column_config.NumberColumn("Days to start", format="%.1f"),
            "comparables": st.column_config.NumberColumn("Comparables", format="%d"),
            "comparable_level": "Compared with",
            "webinar_id": "Webinar id",
        },
    )
    st.download_button(
        "Download CSV",
        frame.to_csv(index=False).encode("utf-8"),
        file_name="upcoming_webinars.csv",
        mime="text/csv",
        key="download_upcoming_csv",
    )
    labels = {
        (row.platform, row.webinar_id): f"{row.webinar_date:%d %b} · {row.title} ({row.pace_status})"
        for row in frame.itertuples()
    }
    picked = st.selectbox(
        "Registration pace of", list(labels), format_func=labels.__getitem__, key="pace_webinar"
    )
    if picked is not None:
        pace_chart(dsn, *picked, title=labels[picked])
    flagged = _flags(dsn, filters)
    st.subheader(f"Flags ({len(flagged)})")
    if flagged.empty:
        st.caption("Nothing unusual this morning.")
    else:
        st.dataframe(
            flagged.assign(flag=flagged.flag.map(lambda f: FLAG_LABELS.get(f, f))),
            hide_index=True,
            width="stretch",
            column_config={
                "flag": "Flag",
                "webinar_date": st.column_config.DateColumn("Date"),
                "title": "Webinar",
                "course": "Course",
                "language": "Language",
                "reason": st.column_config.TextColumn("Why", width="large"),
                "webinar_id": None,
            },
        )


def pace_chart(dsn: str, platform: str, webinar_id: str, *, title: str) -> None:
    """Cumulative registrations by days before start, against the comparable band (25th-75th)."""
    curve = _pace(dsn, platform, webinar_id)
    if curve.empty:
        st.caption("No registration curve for this webinar yet.")
        return
    x = -curve.days_before
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=curve.band_registrations_p75, mode="lines", line={"width": 0},
                             showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=curve.band_registrations_p25, mode="lines", line={"width": 0},
                             fill="tonexty", fillcolor="rgba(99,110,250,0.18)",
                             name="Comparable webinars (25th-75th percentile)"))
    fig.add_trace(go.Scatter(x=x, y=curve.band_registrations_p50, mode="lines",
                             line={"dash": "dash", "color": "rgba(99,110,250,0.9)"},
                             name="Comparable median"))
    fig.add_trace(go.Scatter(x=x, y=curve.registrations, mode="lines+markers", line={"color": "#EF553B"},
                             name="This webinar so far"))
    fig.update_layout(
        title=title, height=360, margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title="Days before start", yaxis_title="Registrations (cumulative)",
        legend={"orientation": "h", "y": -0.25},
    )
    st.plotly_chart(fig, width="stretch", key="pace_chart")


def data_quality_notices(dsn: str) -> None:
    unmapped = _unmapped(dsn)
    if not unmapped.empty:
        with st.expander(
            f"⚠️ {len(unmapped)} unmapped webinar(s): course or language unknown — "
            "add them to the catalog mapping (dbt seed webinar_catalog_map.csv)",
            expanded=False,
        ):
            st.dataframe(unmapped, hide_index=True, width="stretch")
    unseen = _vendor_values(dsn)
    if not unseen.empty:
        with st.expander(
            f"⚠️ {len(unseen)} vendor value(s) the pipeline did not know — counted in the "
            "bucket shown (e.g. language 'other'); extend the known values if they are legitimate",
            expanded=False,
        ):
            st.dataframe(unseen, hide_index=True, width="stretch")
    issues = _match_issues(dsn)
    if issues:
        st.caption(
            f"{issues} Calendly event(s) could not be tied to exactly one Zoom occurrence; their "
            "registrations are not counted until fixed (mart `legacy_match_issues`)."
        )


VIEWS = ("Overview", "Upcoming", "Funnel", "Channels", "Audience", "Engagement")
AUDIENCE_VIEWS = {
    "Funnel": audience_views.funnel_view,
    "Channels": audience_views.channels_view,
    "Audience": audience_views.audience_view,
    "Engagement": audience_views.engagement_view,
}


def _requested_view() -> str:
    """The view named in the URL (``?view=upcoming``: a link straight to it), else Overview."""
    wanted = str(st.query_params.get("view", "")).lower()
    return next((v for v in VIEWS if v.lower() == wanted), VIEWS[0])


def main() -> None:
    try:
        dsn = data.bi_dsn()
        data.reporting_timezone()
        data.cache_ttl_seconds()
    except data.DashboardConfigError as exc:
        st.title("Webinar attendance")
        st.error(str(exc))
        st.stop()
    try:
        fresh = header(dsn)
        opts = _options(dsn)
    except Exception as exc:  # connection refused, role missing, marts not published yet
        st.error(
            f"Cannot read the published marts with {data.DSN_ENV} ({data.error_line(exc)}). "
            "Is the warehouse up, and has the pipeline published at least once?"
        )
        st.stop()
    if opts.first_date is None:
        st.info("The marts are empty: run the pipeline (`make demo`) first.")
        st.stop()
    try:
        view = st.sidebar.radio(
            "View", VIEWS, index=VIEWS.index(_requested_view()), horizontal=True, key="view",
            help="Overview: held webinars of the period. Upcoming: pace, forecast and flags. "
            "Funnel, Channels, Audience, Engagement: who came, from where, who returns, how engaged.",
        )
        filters = sidebar_filters(opts, fresh)
        if view == "Upcoming":
            upcoming_view(dsn, filters)
            return
        if view in AUDIENCE_VIEWS:
            AUDIENCE_VIEWS[view](_load, dsn, filters)
            return
        data_quality_notices(dsn)
        flag_notice(dsn, filters)
        kpi_tiles(dsn, filters)
        trend_chart(dsn, filters)
        left, right = st.columns(2)
        with left:
            breakdown_chart(dsn, filters, "course", "By course")
        with right:
            breakdown_chart(dsn, filters, "language", "By language")
        audience_views.course_language_comparison(_load, dsn, filters)
        webinar_table(dsn, filters)
    except Exception as exc:  # the warehouse went away mid-page, a statement timed out, ...
        st.error(f"Cannot read the published marts ({data.error_line(exc)}). Reload the page to retry.")
        st.stop()


main()
