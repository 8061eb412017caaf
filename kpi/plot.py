"""Service level and answer timeliness over time, drawn with matplotlib's Agg backend."""

from __future__ import annotations

from pathlib import Path

from kpi.report import AgentTally, QueueTally, Report


def _total(tallies: dict[str, AgentTally]) -> float | None:
    within = sum(t.within_rings for t in tallies.values())
    den = sum(t.answered + t.rona for t in tallies.values())
    return within / den if den else None


def plot_report(report: Report, path: str | Path) -> None:
    """One line per queue's service level, one for all agents' answer timeliness."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    periods = sorted(set(report.queues) | set(report.agents))
    fig, ax = plt.subplots(figsize=(10, 5))
    xs = list(range(len(periods)))
    queue_names = sorted({name for rows in report.queues.values() for name in rows})
    for name in queue_names:
        values = []
        for period in periods:
            tally: QueueTally | None = report.queues.get(period, {}).get(name)
            sl = tally.figures()["service_level"] if tally is not None else None
            values.append(float("nan") if sl is None else sl * 100)
        ax.plot(xs, values, marker="o", label=f"service level {name or '(no queue)'}")
    timeliness = [_total(report.agents.get(p, {})) for p in periods]
    ax.plot(xs, [float("nan") if v is None else v * 100 for v in timeliness],
            marker="s", linestyle="--", label=f"answer timeliness (< {report.params.rings} rings)")
    ax.set_xticks(xs, periods, rotation=45, ha="right", fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.set_title(f"Service level (wait ≤ {report.params.sl_ms / 1000:g} s) "
                 "and answer timeliness")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(str(path), format="png", dpi=100)
    plt.close(fig)
