"""Write a validation report: a self-contained HTML page (Jinja2, PNG figures embedded as
base64) and the JSON summary beside it.

Figures (matplotlib, Agg backend): per instrument, the Kaplan-Meier curves of its groups with
the published probability of each group marked at the horizon, and the calibration plot
(published vs observed with 95% CI). A SYNTHETIC cohort is written across every figure, in the
title and in a banner repeated at the top and bottom of the page and on every printed page.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mescc.registry.survival import CalibrationRow, Curve
    from mescc.registry.validate import InstrumentFigures, ValidationReport

_SYNTHETIC_MARK = "SYNTHETIC DATA - NOT EVIDENCE"
_PLOT_POINTS = 1500


def _thin(curve: Curve, until: float) -> tuple[Any, Any, Any, Any]:
    """The step curve on at most ``_PLOT_POINTS`` times up to ``until`` (same steps visually)."""
    times = curve.times
    keep = times <= until
    t, s, lo, hi = times[keep], curve.survival[keep], curve.low[keep], curve.high[keep]
    if t.size > _PLOT_POINTS:
        grid = np.linspace(0, until, _PLOT_POINTS)
        idx = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, t.size - 1)
        t, s, lo, hi = grid, s[idx], lo[idx], hi[idx]
    return t, s, lo, hi


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _mark(ax: Any, synthetic: bool) -> None:
    if synthetic:
        ax.text(
            0.5,
            0.5,
            _SYNTHETIC_MARK,
            transform=ax.transAxes,
            ha="center",
            va="center",
            rotation=25,
            fontsize=16,
            color="#c00000",
            alpha=0.25,
            weight="bold",
        )


def km_figure(name: str, figs: InstrumentFigures, synthetic: bool) -> str | None:
    """Kaplan-Meier curves by group, published probabilities marked at the horizon."""
    if not figs.curves:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    horizon = figs.horizon or 6.0
    longest = max(c.max_time for c in figs.curves.values())
    until = min(longest, max(24.0, 2 * horizon))
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    for label, curve in figs.curves.items():
        if curve.n == 0:
            continue
        t, s, lo, hi = _thin(curve, until)
        t = np.r_[0.0, t]
        s, lo, hi = np.r_[1.0, s], np.r_[1.0, lo], np.r_[1.0, hi]
        overall = label == "all computed"
        line = ax.step(
            t,
            s,
            where="post",
            lw=1.2 if overall else 1.6,
            ls="--" if overall else "-",
            color="#555" if overall else None,
            label=f"{label} (n={curve.n})",
        )[0]
        if not overall:
            ax.fill_between(t, lo, hi, step="post", alpha=0.12, color=line.get_color())
            pred = figs.predicted_at_horizon.get(label)
            if pred is not None and figs.horizon is not None:
                ax.plot(
                    [figs.horizon],
                    [pred],
                    marker="D",
                    ms=7,
                    mfc="white",
                    mec=line.get_color(),
                    mew=2,
                )
    if figs.horizon is not None:
        ax.axvline(figs.horizon, color="#999", lw=0.8, ls=":")
    ax.set_xlim(0, until)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("months")
    ax.set_ylabel("survival (Kaplan-Meier, 95% CI)")
    title = name + (" - SYNTHETIC" if synthetic else "")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper right", title="group (points)", title_fontsize=7)
    if figs.predicted_at_horizon:
        ax.text(
            0.01,
            0.02,
            "diamonds: the group probability the table states at the horizon",
            transform=ax.transAxes,
            fontsize=7,
            color="#444",
        )
    _mark(ax, synthetic)
    return _png(fig)


def calibration_figure(
    name: str, rows: list[CalibrationRow], kind: str, synthetic: bool
) -> str | None:
    """Published (predicted) vs observed probability per group, 95% CI, identity line."""
    pts = [r for r in rows if r.predicted is not None and r.observed.value is not None]
    if not pts:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.4, 4.2))
    ax.plot([0, 1], [0, 1], color="#999", lw=0.8, ls="--")
    for r in pts:
        assert r.observed.value is not None and r.predicted is not None
        lo = r.observed.value - (r.observed.low or r.observed.value)
        hi = (r.observed.high or r.observed.value) - r.observed.value
        ax.errorbar([r.predicted], [r.observed.value], yerr=[[lo], [hi]], fmt="o", capsize=3)
        ax.annotate(
            r.group,
            (r.predicted, r.observed.value),
            textcoords="offset points",
            xytext=(5, -10),
            fontsize=7,
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"published (predicted) {kind}")
    ax.set_ylabel(f"observed {kind} (95% CI)")
    ax.set_title("Calibration" + (" - SYNTHETIC" if synthetic else ""), fontsize=10)
    _mark(ax, synthetic)
    return _png(fig)


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * float(x):.1f}%"


def _est(e: Any, scale: str = "percent") -> str:
    """An estimate dict as '52.3% (49.0-55.1%, n=...)'."""
    if not e or e.get("value") is None:
        return (e or {}).get("note") or "-"
    v, ci = e["value"], e.get("ci95") or [None, None]
    if scale == "months":
        lo = "-" if ci[0] is None else f"{ci[0]:.1f}"
        hi = "NR" if ci[1] is None else f"{ci[1]:.1f}"
        return f"{v:.1f} mo ({lo}-{hi})"
    return f"{_pct(v)} ({_pct(ci[0])}-{_pct(ci[1])})"


def render_html(report: ValidationReport) -> str:
    """The report page (Jinja2 template ``registry/templates/validation_report.html``)."""
    from importlib import resources

    from jinja2 import Environment, select_autoescape

    summary = report.summary
    synthetic = bool(summary["synthetic"])
    figures: dict[str, dict[str, str | None]] = {}
    for iid, figs in report.figures.items():
        name = _figure_name(summary["instruments"][iid])
        figures[iid] = {
            "km": km_figure(name, figs, synthetic),
            "calibration": calibration_figure(
                name, figs.calibration, figs.calibration_kind, synthetic
            ),
        }
    text = (
        resources.files("mescc.registry")
        .joinpath("templates", "validation_report.html")
        .read_text("utf-8")
    )
    env = Environment(
        autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True
    )
    env.filters["pct"] = _pct
    env.filters["est"] = _est
    return env.from_string(text).render(s=summary, figures=figures, synthetic=synthetic)


def write_report(report: ValidationReport, html_path: Path, json_path: Path) -> None:
    """Write the HTML page and the JSON summary (figures only in the HTML)."""
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_html(report), encoding="utf-8")
    json_path.write_text(
        json.dumps(report.summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _figure_name(inst: dict[str, Any]) -> str:
    """The figure title: the name, and the table's label when it is not the published one."""
    ver = inst.get("verification")
    return f"{inst['name']} ({ver})" if ver in ("site-derived", "site-supplied") else inst["name"]


def figure_png(report: ValidationReport, instrument: str) -> bytes:
    """The Kaplan-Meier figure of one instrument as PNG bytes (for docs/figures)."""
    name = _figure_name(report.summary["instruments"][instrument])
    png = km_figure(name, report.figures[instrument], bool(report.summary["synthetic"]))
    if png is None:
        raise ValueError(f"{instrument}: no curves to plot")
    return base64.b64decode(png)
