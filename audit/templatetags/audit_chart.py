"""Tags of the log pages: the activity chart (inline SVG, no script) and the record rows."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from audit.activity import DayActivity, HourActivity

register = template.Library()

OUTCOME_COLOURS = (("succeeded", "#15803d"), ("failed", "#b91c1c"), ("denied", "#b45309"))
WIDTH, HEIGHT, AXIS, TOP = 720, 150, 22, 14


@register.simple_tag
def activity_chart(days: list[DayActivity] | list[HourActivity]) -> SafeString:
    """An SVG bar per day (or hour); each bar stacks succeeded, failed and denied counts."""
    peak = max((day.total for day in days), default=0) or 1
    slot = WIDTH / max(len(days), 1)
    bars = []
    for i, day in enumerate(days):
        bars.extend(_bar(day, x=i * slot + slot * 0.15, width=slot * 0.7, peak=peak))
        bars.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" class="axis">{}</text>',
                f"{i * slot + slot / 2:.1f}",
                HEIGHT - 6,
                day.label,
            )
        )
    total = sum(day.total for day in days)
    hourly = bool(days) and isinstance(days[0], HourActivity)
    return format_html(
        '<svg class="activity" role="img" viewBox="0 0 {w} {h}" width="100%" height="{h}" '
        'preserveAspectRatio="none" aria-label="{label}" data-by="{by}">'
        '<text x="0" y="10" class="axis">{peak}</text>{bars}</svg>',
        w=WIDTH,
        h=HEIGHT,
        by="hour" if hourly else "day",
        label=f"{total} records over {len(days)} {'hours' if hourly else 'days'}",
        peak=peak if total else 0,
        bars=format_html_join("", "{}", ((bar,) for bar in bars)),
    )


def _bar(day: DayActivity, *, x: float, width: float, peak: int) -> list[SafeString]:
    plot = HEIGHT - AXIS - TOP
    y = HEIGHT - AXIS
    out = []
    for outcome, colour in OUTCOME_COLOURS:
        n = day.counts.get(outcome, 0)
        if not n:
            continue
        height = max(plot * n / peak, 1.0)
        y -= height
        out.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" data-outcome="{}" '
                'data-count="{}"><title>{}: {} {}</title></rect>',
                f"{x:.1f}",
                f"{y:.1f}",
                f"{width:.1f}",
                f"{height:.1f}",
                colour,
                outcome,
                n,
                day.key,
                n,
                outcome,
            )
        )
    return out


@register.simple_tag
def record_rows(rows: list[dict], with_user: bool = False) -> SafeString:
    """The list's table rows, built here rather than in a template loop (it is most of a
    page's time); every value is escaped by format_html."""
    if not rows:
        return SafeString('<tr><td colspan="8" class="muted">No records match.</td></tr>')
    user_cell = "<td>{login}</td>" if with_user else ""
    row = (
        '<tr class="record"><td><a href="{url}">{ts}</a></td>' + user_cell + "<td><code>{event}"
        "</code></td><td>{action}</td><td>{resource}</td><td><code>{cluster}</code></td>"
        '<td class="outcome-{outcome}">{outcome}</td><td class="error">{error}</td></tr>'
    )
    # Each piece comes out of format_html already escaped, so the joined text is safe.
    return SafeString("\n".join(format_html(row, **r) for r in rows))


@register.simple_tag
def outcome_colour(outcome: str) -> str:
    return dict(OUTCOME_COLOURS).get(outcome, "#6b7280")
