"""Markdown tables of a ``python -m trainer evaluate-delineation`` report (its JSON, as written).

:func:`markdown` renders every part the report has: boundaries on LUDB and QTDB, record
intervals (12 leads, single leads, QTDB beats), the rate stress, the cart agreement and
the speed. Numbers are copied from the report, never recomputed.
"""

from __future__ import annotations

from typing import Any

from ecgviewer.core.delineation import POINTS
from trainer.metrics import INTERVALS, TITLES
from trainer.reporting import fmt

POINT_TITLES = {
    "p_on": "P on",
    "p_off": "P off",
    "qrs_on": "QRS on",
    "qrs_off": "QRS off",
    "t_on": "T on",
    "t_off": "T off",
}
_UNITS = {name: unit for name, unit, _ in INTERVALS}


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def _ci(s: dict[str, Any], key: str, digits: int = 1, scale: float = 1.0, sign: bool = False) -> str:
    v = s.get(key)
    if v is None:
        return "–"
    text = f"{scale * v:+.{digits}f}" if sign else f"{scale * v:.{digits}f}"
    ci = s.get(f"{key}_ci")
    if ci:
        text += f" ({scale * ci[0]:.{digits}f}–{scale * ci[1]:.{digits}f})"
    return text


def boundary_table(boundaries: dict[str, dict[str, Any]], ppv: bool = True) -> str:
    """Rows: method x boundary; n reference boundaries, Se, PPV, F1 (of Se and PPV), error mean ± SD (ms)."""
    head = "| method | boundary | n | Se (%) |" + (" PPV (%) | F1 (%) |" if ppv else "")
    head += " error mean ± SD (ms) |"
    lines = [head, "|---|---|---:|---:|" + ("---:|---:|" if ppv else "") + "---:|"]
    for method, points in boundaries.items():
        for p in POINTS:
            s = points.get(p)
            if s is None:
                continue
            if not s["n_ref"]:
                continue
            err = "–" if s["mean"] is None else f"{s['mean']:+.1f} ± {fmt(s['sd'], 1)}"
            if s["tp"] == 0:
                err = "no boundary given"
            cells = [method, POINT_TITLES[p], str(s["n_ref"]), _pct(s["se"])]
            if ppv:
                f1 = None
                if s["se"] is not None and s["ppv"] is not None and s["se"] + s["ppv"] > 0:
                    f1 = 2 * s["se"] * s["ppv"] / (s["se"] + s["ppv"])
                cells += [_pct(s["ppv"]), _pct(f1)]
            lines.append("| " + " | ".join([*cells, err]) + " |")
    return "\n".join(lines)


def interval_table(scores: dict[str, dict[str, Any]], keys: tuple[str, ...] | None = None) -> str:
    """Rows: method x interval; n, missed (reference without a value), extra (a value where the reference
    has none), MAE, bias, SD of the difference, share within tolerance, each with its bootstrap 95 % CI."""
    lines = [
        "| method | interval | n | missed | extra | MAE (95 % CI) | bias (95 % CI) | SD (95 % CI) "
        "| within tol. (95 % CI) |",
        "|---|---|---:|---:|---:|---|---|---|---|",
    ]
    for method, s in scores.items():
        if "n/a" in s:
            lines.append(f"| {method} | all | – | – | – | {s['n/a']} | | | |")
            continue
        for name, unit, tol in INTERVALS:
            if (keys is not None and name not in keys) or name not in s:
                continue
            a = s[name]
            n = f"{a['n']}" + (f" ({a['n_clusters']} rec.)" if a["n_clusters"] != a["n"] else "")
            lines.append(
                f"| {method} | {TITLES[name]} ({unit}, ±{tol:g}) | {n} | {a['missed']} | "
                f"{a.get('extra', '–')} | {_ci(a, 'mae')} | "
                f"{_ci(a, 'mean_diff', sign=True)} | {_ci(a, 'sd_diff')} | {_ci(a, 'within', 0, 100.0)} % |"
            )
    return "\n".join(lines)


def mae_overview(intervals: dict[str, dict[str, Any]], variants: list[str]) -> str:
    """Rows: method x variant; the MAE of HR, PR, QRS and QT (missed records in brackets)."""
    lines = [
        "| method | leads / rate | " + " | ".join(f"{TITLES[n]} MAE ({u})" for n, u, _ in INTERVALS) + " |"
    ]
    lines.append("|---|---|" + "---:|" * len(INTERVALS))
    methods = list(next(iter(intervals.values())).keys()) if intervals else []
    for m in methods:
        for v in variants:
            s = intervals.get(v, {}).get(m)
            if s is None:
                continue
            if "n/a" in s:
                lines.append(f"| {m} | {v} | " + " | ".join(["n/a"] * len(INTERVALS)) + " |")
                continue
            cells = []
            for name, _, _ in INTERVALS:
                a = s[name]
                cell = fmt(a["mae"], 1)
                if a["missed"]:
                    cell += f" ({a['missed']} missed)"
                cells.append(cell)
            lines.append(f"| {m} | {v} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def stretch_table(stretch: dict[str, Any]) -> str:
    """Rows: method x interval; unstretched MAE, then per stretched rate the MAE with its ratio to the
    unstretched one (and the same on the record's own time scale), and the verdict."""
    rates: list[str] = []
    for rows in stretch.values():
        for row in rows.values():
            rates = [k for k in row if k.endswith("bpm")]
            break
        break
    head = "| method | interval | MAE unstretched | " + " | ".join(
        f"MAE at {r} (x unstretched; x on the original time scale)" for r in rates
    )
    lines = [head + " | errors grow by at most half |", "|---|---|---:|" + "---:|" * len(rates) + "---|"]
    for m, rows in stretch.items():
        for name, row in rows.items():
            cells = []
            for r in rates:
                c = row[r]
                if c["mae"] is None:
                    cells.append("n/a")
                    continue
                cell = f"{fmt(c['mae'], 1)} (x{fmt(c['ratio'], 2)}; x{fmt(c.get('ratio_original_scale'), 2)})"
                if c.get("missed"):
                    cell += f", {c['missed']} missed"
                cells.append(cell)
            verdict = "yes" if row["within_limit"] else "**no**"
            lines.append(
                f"| {m} | {TITLES[name]} ({_UNITS[name]}) | {fmt(row['unstretched'], 1)} | "
                + " | ".join(cells)
                + f" | {verdict} |"
            )
    return "\n".join(lines)


def cart_table(cart: dict[str, Any], methods: list[str]) -> str:
    """Per vendor file and interval: the cart's value and each method's (a legend names the carts)."""
    lines = [
        "Files: "
        + "; ".join(
            f"`{f['file'].rsplit('/', 1)[-1]}`: {f['source']}"
            + (" (**not scored**: " + f["excluded"] + ")" if f.get("excluded") else "")
            for f in cart["files"]
        )
        + ".",
        "",
        "| file | interval | cart | " + " | ".join(methods) + " |",
        "|---|---|---:|" + "---:|" * len(methods),
    ]
    for f in cart["files"]:
        for name, unit, _ in INTERVALS:
            ref = f["cart"].get(name)
            if ref is None:
                continue
            cells = []
            for m in methods:
                got = f["methods"][m]
                v = got["values"].get(name)
                cells.append(fmt(v, 0) if v is not None else ("n/a" if got.get("error") else "–"))
            lines.append(
                f"| `{f['file'].rsplit('/', 1)[-1]}` | {TITLES[name]} ({unit}) | {fmt(ref, 0)} | "
                + " | ".join(cells)
                + " |"
            )
    return "\n".join(lines)


def _load(v: list[float] | None) -> str:
    return "–" if not v else f"{v[0]:.1f}"


def speed_table(speed: dict[str, Any], machine: dict[str, Any]) -> str:
    lines = ["| method | records | median (ms / record) | mean (ms / record) |", "|---|---:|---:|---:|"]
    for m, s in speed["methods"].items():
        lines.append(f"| {m} | {s['records']} | {s['median_ms']:.0f} | {s['mean_ms']:.0f} |")
    lines.append("")
    lines.append(
        f"CPU ({machine.get('cpu_count')} cores; load average {_load(machine.get('load_average_at_start'))} "
        f"at the start of the evaluation, {_load(machine.get('load_average_at_end'))} at the end: other jobs "
        f"shared the cores), {speed['threads']} torch thread, one record after another in one process (a "
        "network batches the windows of a record); each record run "
        f"{speed['repeats']} times, the fastest kept. A record is 10 s, 12 leads at 500 Hz (the regression "
        "models and the classical delineator read 8 of them); loading a model is not counted."
    )
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    """Every table of ``report`` under a heading, with the command and the run time."""
    out = [f"Command: `{report.get('command', '')}` ({report.get('elapsed_s', 0) / 60:.1f} min)"]
    out.append(
        f"Default delineator: `{report.get('default_delineator')}`. Bootstrap: {report.get('n_boot')} "
        "resamples of records, percentile 95 % CIs. Tolerance of a boundary: "
        f"{report.get('tolerance_ms', 150):g} ms. Test records only "
        f"({', '.join(report.get('split_files', []))})."
    )
    for note in report.get("notes", []):
        out.append(f"Note: {note}.")
    ludb = report.get("ludb")
    if ludb:
        n = len(ludb["records"])
        out.append(f"## LUDB test ({n} records): boundaries, each lead against its own annotation")
        out.append(boundary_table(ludb["boundaries"]))
        out.append(f"## LUDB test ({n} records): record intervals, 12 leads")
        out.append(interval_table(ludb["intervals"]["12 leads"]))
        single = [v for v in ludb["intervals"] if v.startswith("lead ")]
        out.append(f"## LUDB test ({n} records): MAE by lead set and heart rate")
        out.append(mae_overview(ludb["intervals"], list(ludb["intervals"])))
        for v in single:
            out.append(f"### LUDB test, only {v}")
            out.append(interval_table(ludb["intervals"][v]))
        if ludb.get("stretch"):
            factors = ", ".join(
                f"{k}: x{lo:.2f}–{hi:.2f}" for k, (lo, hi) in ludb.get("stretch_factors", {}).items()
            )
            out.append(f"## Rate stress: LUDB test stretched to 40 and 150 bpm (stretch factors {factors})")
            out.append(stretch_table(ludb["stretch"]))
            for v in ludb["intervals"]:
                if v.endswith("bpm"):
                    out.append(f"### LUDB test at {v}")
                    out.append(interval_table(ludb["intervals"][v]))
    qtdb = report.get("qtdb")
    if qtdb:
        n = len(qtdb["records"])
        out.append(f"## QTDB test ({n} records, q1c): boundaries, consensus of the 2 leads")
        out.append(boundary_table(qtdb["boundaries"]["consensus"]))
        out.append(f"## QTDB test ({n} records, q1c): boundaries, best of the 2 leads per boundary")
        out.append(boundary_table(qtdb["boundaries"]["best lead"], ppv=False))
        out.append(f"## QTDB test ({n} records, {qtdb['beats']} q1c beats): intervals per annotated beat")
        out.append(interval_table(qtdb["intervals"], keys=("pr_ms", "qrs_ms", "qt_ms")))
    cart = report.get("cart")
    if cart:
        methods = [m["name"] for m in report.get("methods", [])]
        scored = sum(not f.get("excluded") for f in cart["files"])
        out.append(f"## Cart measurements ({scored} vendor files scored, {len(cart['files'])} shown)")
        out.append(interval_table(cart["summary"]))
        out.append("### Per file")
        out.append(cart_table(cart, methods))
    if report.get("speed"):
        out.append("## Speed")
        out.append(speed_table(report["speed"], report.get("machine", {})))
    return "\n\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m trainer.delineation_tables REPORT.json``: print the tables of a written report again."""
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m trainer.delineation_tables", description=main.__doc__)
    parser.add_argument("report", type=Path, help="the JSON written by evaluate-delineation --out")
    args = parser.parse_args(argv)
    print(markdown(json.loads(args.report.read_text(encoding="utf-8"))), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
