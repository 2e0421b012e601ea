"""``python -m trainer evaluate-beats``: detector + beat classifier against reference annotations.

For each record (by default the ``test`` records of ``trainer/splits/beats.json``,
never used for training or model selection) the whole chain runs as in the viewer:
R peaks from :func:`~ecgviewer.core.beat_pass.detect_r_peaks_long`, then each method
labels the **detected** beats:

``classifier``
    the 1-D beat classifier (:class:`~ecgviewer.inference.beats.BeatClassifier`,
    ``--checkpoint``, default the bundled ``beatnet``);
``segmentation``
    the ECG-image segmentation of Hernández-Fernández et al. ("Long-term ECG Analysis
    Through Image Conversion and Deep Learning", CinC 2023)
    (:func:`ecgviewer.inference.beat_segmentation.segment_beats`,
    ``--segmentation-checkpoint``), on the same detected beats.

Detected beats are matched to the reference beats of the ``.atr`` file within 150 ms
(ANSI/AAMI EC57), nearest first, one to one. Episodes of ventricular flutter/fibrillation
(between the ``[`` and ``]`` annotations: 207 in DS1) are left out of the comparison, reference
and detections alike, as the WFDB reference tool ``bxb`` does (its flutter waves are not beats).
Per record and pooled over records:

- the confusion matrix, rows = reference class or ``none`` (a detection without a
  reference beat), columns = assigned class or ``missed`` (a reference beat not detected);
- per class (and for V and F together, "VF": ventricular ectopy of either kind) the
  sensitivity Se = correctly labelled / reference beats of the class (missed beats count
  against it), the positive predictivity +P = correctly labelled / beats given the
  class (detections without a reference beat count against it) and F1; the pooled figures
  are EC57's *gross* statistics (sums over records) with percentile bootstrap 95 % CIs
  over records (records resampled with replacement: the beats of a record are not
  independent);
- the record-level figure of Hernández-Fernández et al.: the share of true PVC/fusion
  *episodes* (a maximal run of consecutive reference beats labelled V or F) in which at
  least one beat is labelled V or F, and, for balance, the number of false episodes (runs
  of beats labelled V/F none of which is a reference V/F beat) per hour;
- QRS detection sensitivity and positive predictivity.

Writes ``results.json`` (everything) and ``table.md`` (the tables of docs/accuracy.md) to ``--out``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.core.beat_pass import (
    BEAT_CLASSES,
    MATCH_TOLERANCE_S,
    beat_lead,
    detect_r_peaks_long,
    match_beats,
)
from trainer import reporting
from trainer.commands import Command
from trainer.data.arrays import SPLITS, DataError

#: Rows of the confusion matrix (reference) and columns (assigned).
REF_ROWS: tuple[str, ...] = (*BEAT_CLASSES, "none")
PRED_COLS: tuple[str, ...] = (*BEAT_CLASSES, "missed")
METHODS: tuple[str, ...] = ("classifier", "classifier-no-rule", "segmentation")
#: Classes scored (VF: V and F together).
SCORED: tuple[str, ...] = (*BEAT_CLASSES, "VF")

Labeller = Callable[[Any, np.ndarray], np.ndarray]


# -- per record ----------------------------------------------------------------------------------
def confusion(
    ref_samples: np.ndarray,
    ref_labels: np.ndarray,
    det_samples: np.ndarray,
    det_labels: np.ndarray,
    tolerance: int,
    span: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The confusion matrix (:data:`REF_ROWS` x :data:`PRED_COLS`) of one record.

    Beats are matched on the whole record; with ``span = (start, stop)`` (samples) only the
    reference beats inside it, the detections matched to them and the unmatched detections
    inside it count.

    Returns
    -------
    matrix, ref_labels, det_labels, ref_idx, det_idx
        The (5, 5) counts, the labels of the counted beats and their matched pairs (indices
        into those labels).
    """
    ri, di = match_beats(ref_samples, det_samples, tolerance)
    ref_keep = np.ones(len(ref_samples), dtype=bool)
    det_keep = np.ones(len(det_samples), dtype=bool)
    if span is not None:
        ref_keep = (ref_samples >= span[0]) & (ref_samples < span[1])
        det_keep = (det_samples >= span[0]) & (det_samples < span[1])
        det_keep[di] = ref_keep[ri]  # a matched detection goes with its reference beat
        pair = ref_keep[ri]
        ri, di = ri[pair], di[pair]
    # re-index the counted beats
    ri = np.cumsum(ref_keep)[ri] - 1
    di = np.cumsum(det_keep)[di] - 1
    ref_labels, det_labels = np.asarray(ref_labels)[ref_keep], np.asarray(det_labels)[det_keep]
    k = len(BEAT_CLASSES)
    code = {c: i for i, c in enumerate(BEAT_CLASSES)}
    ref_code = np.asarray([code[c] for c in ref_labels], dtype=np.int64)
    det_code = np.asarray([code.get(c, code["Q"]) for c in det_labels], dtype=np.int64)
    m = np.zeros((k + 1, k + 1), dtype=np.int64)
    np.add.at(m, (ref_code[ri], det_code[di]), 1)
    missed = np.ones(ref_code.size, dtype=bool)
    missed[ri] = False
    np.add.at(m, (ref_code[missed], k), 1)
    extra = np.ones(det_code.size, dtype=bool)
    extra[di] = False
    np.add.at(m, (k, det_code[extra]), 1)
    return m, ref_labels, det_labels, ri, di


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` of the maximal runs of True."""
    f = np.concatenate([[False], np.asarray(flags, dtype=bool), [False]])
    d = np.diff(f.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def episodes(
    ref_labels: np.ndarray, det_labels: np.ndarray, ref_idx: np.ndarray, det_idx: np.ndarray
) -> dict[str, int]:
    """The episode figure of Hernández-Fernández et al. for one record.

    Returns
    -------
    dict
        ``n_true`` (runs of consecutive reference V/F beats), ``n_detected`` (those with at least
        one beat matched to a beat labelled V or F), ``n_false`` (runs of consecutive detected
        beats labelled V/F none of which is matched to a reference V/F beat).
    """
    ref_vf = np.isin(ref_labels, ("V", "F"))
    det_vf = np.isin(det_labels, ("V", "F"))
    hit_ref = np.zeros(ref_vf.size, dtype=bool)  # reference beat matched to a V/F-labelled detection
    hit_ref[ref_idx[det_vf[det_idx]]] = True
    true_det = np.zeros(det_vf.size, dtype=bool)  # detection matched to a reference V/F beat
    true_det[det_idx[ref_vf[ref_idx]]] = True
    true_runs = _runs(ref_vf)
    det_runs = _runs(det_vf)
    return {
        "n_true": len(true_runs),
        "n_detected": sum(bool(hit_ref[a:b].any()) for a, b in true_runs),
        "n_false": sum(not bool(true_det[a:b].any()) for a, b in det_runs),
    }


def class_scores(m: np.ndarray) -> dict[str, dict[str, float]]:
    """Se, +P, F1 and counts per class and for V+F from a confusion matrix (``nan`` where undefined)."""
    k = len(BEAT_CLASSES)
    out: dict[str, dict[str, float]] = {}
    groups = {c: [i] for i, c in enumerate(BEAT_CLASSES)}
    groups["VF"] = [BEAT_CLASSES.index("V"), BEAT_CLASSES.index("F")]
    for name, idx in groups.items():
        tp = int(m[np.ix_(idx, idx)].sum())
        n_ref = int(m[idx, :].sum())  # including missed
        n_pred = int(m[:, idx].sum())  # including detections without a reference beat
        se = tp / n_ref if n_ref else math.nan
        ppv = tp / n_pred if n_pred else math.nan
        f1 = 2 * tp / (n_ref + n_pred) if n_ref + n_pred else math.nan
        out[name] = {"n_ref": n_ref, "n_pred": n_pred, "tp": tp, "sensitivity": se, "ppv": ppv, "f1": f1}
    del k
    return out


def detection_scores(m: np.ndarray) -> dict[str, float]:
    """QRS detection: reference beats, detections, Se and +P from a confusion matrix."""
    k = len(BEAT_CLASSES)
    n_ref = int(m[:k, :].sum())
    n_det = int(m[:, :k].sum())
    tp = int(m[:k, :k].sum())
    return {
        "n_ref": n_ref,
        "n_detected": n_det,
        "sensitivity": tp / n_ref if n_ref else math.nan,
        "ppv": tp / n_det if n_det else math.nan,
    }


def _pooled(per_record: Sequence[dict[str, Any]]) -> dict[str, Any]:
    m = np.sum([np.asarray(r["confusion"]) for r in per_record], axis=0)
    ep = {k: int(sum(r["episodes"][k] for r in per_record)) for k in ("n_true", "n_detected", "n_false")}
    hours = sum(r["duration_s"] for r in per_record) / 3600.0
    return {
        "confusion": m,
        "classes": class_scores(m),
        "detection": detection_scores(m),
        "episodes": {
            **ep,
            "share_detected": ep["n_detected"] / ep["n_true"] if ep["n_true"] else math.nan,
            "false_per_hour": ep["n_false"] / hours if hours else math.nan,
        },
        "hours": hours,
    }


def bootstrap(per_record: Sequence[dict[str, Any]], n_boot: int, seed: int = 0) -> dict[str, Any]:
    """Percentile 95 % CIs of the pooled figures, resampling records with replacement."""
    from trainer.metrics import bootstrap_indices, percentile_ci

    if n_boot <= 0 or len(per_record) < 2:
        return {}
    mats = np.stack([np.asarray(r["confusion"]) for r in per_record])
    eps = np.asarray([[r["episodes"]["n_true"], r["episodes"]["n_detected"]] for r in per_record], float)
    stats: dict[str, list[float]] = {f"{c}.{k}": [] for c in SCORED for k in ("sensitivity", "ppv", "f1")}
    stats["episodes.share_detected"] = []
    for idx in bootstrap_indices(len(per_record), n_boot, seed):
        sc = class_scores(mats[idx].sum(axis=0))
        for c in SCORED:
            for k in ("sensitivity", "ppv", "f1"):
                stats[f"{c}.{k}"].append(sc[c][k])
        e = eps[idx].sum(axis=0)
        stats["episodes.share_detected"].append(e[1] / e[0] if e[0] else math.nan)
    return {k: percentile_ci(np.asarray(v)) for k, v in stats.items()}


# -- methods ---------------------------------------------------------------------------------------
def classifier_method(
    checkpoint: str | Path, device: str = "auto", rule: bool = True
) -> tuple[Labeller, dict[str, Any]]:
    """The 1-D beat classifier as a labeller ``(rec, r_peaks) -> labels``, and its description;
    ``rule=False``: the network's argmax without the prematurity rule."""
    from ecgviewer.inference.beats import PREMATURITY_RULE, BeatClassifier

    clf = BeatClassifier(checkpoint, device=device, rule=PREMATURITY_RULE if rule else None)
    meta = clf.meta

    def label(rec, r_peaks: np.ndarray) -> np.ndarray:
        out = clf.classify(rec, r_peaks)
        assert out is not None  # never cancelled here
        return out[0]

    info = {
        "method": "classifier" if rule else "classifier-no-rule",
        "checkpoint": str(checkpoint),
        "prematurity_rule": None if clf.rule is None else clf.rule.to_dict(),
        "path": str(clf.checkpoint_path),
        "architecture": meta.architecture,
        "sha256": meta.weights_sha256,
        "status": meta.status,
        "trained_on": (meta.training.get("data") or {}).get("split_file"),
    }
    return label, info


def segmentation_method(checkpoint: str | None) -> tuple[Labeller, dict[str, Any]]:
    """The ECG-image segmentation (:mod:`ecgviewer.inference.beat_segmentation`) as a labeller."""
    from ecgviewer.inference.beat_segmentation import segment_beats

    def label(rec, r_peaks: np.ndarray) -> np.ndarray:
        x = rec.lead(beat_lead(rec), 0, rec.n_samples)
        return np.asarray(segment_beats(x, rec.fs_hz, r_peaks, checkpoint)).astype("<U1")

    return label, {"method": "segmentation", "checkpoint": checkpoint}


# -- the run -------------------------------------------------------------------------------------
def resolve_records(root: Path, items: Sequence[str], split_file: Path) -> list[tuple[str, Path]]:
    """``(name, header path)`` for roles (``test``, ``val``, ``train``), split-file names or paths."""
    from trainer.data.beats import read_split

    roles, _ = read_split(split_file)
    out: list[tuple[str, Path]] = []
    for item in items:
        if item in SPLITS:
            out += [(n, root / f"{n}.hea") for n, r in roles.items() if r == item]
        elif item in roles:
            out.append((item, root / f"{item}.hea"))
        else:
            path = Path(item).with_suffix(".hea")
            if not path.exists():
                raise DataError(f"{item}: neither a role, a record of {split_file.name} nor a record file")
            out.append((path.stem, path))
    for _name, path in out:
        if not path.exists() or not path.with_suffix(".atr").exists():
            raise DataError(f"{path}: record or its .atr reference annotations not found")
    return list(dict.fromkeys(out))


def evaluate_beats(
    records: Sequence[tuple[str, Path]],
    methods: dict[str, tuple[Labeller, dict[str, Any]]],
    *,
    n_boot: int = 2000,
    span_s: tuple[float, float | None] = (0.0, None),
    progress: bool = True,
) -> dict[str, Any]:
    """Run detection and every method on every record and score them (see the module docstring).

    ``span_s = (start, stop)``: score only the beats in that part of each record (seconds; stop None:
    to the end), e.g. the part of 208 a seed-protocol model was not trained on. Detection and
    labelling still run on the whole record.
    """
    from ecgviewer.core.readers.registry import open_long_record
    from trainer.data.beats import outside_spans, read_reference

    per_method: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    for k, (name, path) in enumerate(records):
        ref, ref_lab, vf = read_reference(path)
        ref_keep = outside_spans(ref, vf)
        ref, ref_lab = ref[ref_keep], ref_lab[ref_keep]
        with open_long_record(path) as rec:
            tol = round(MATCH_TOLERANCE_S * rec.fs_hz)
            t0 = time.perf_counter()
            det = detect_r_peaks_long(rec)
            t_det = time.perf_counter() - t0
            det_keep = outside_spans(det, vf)
            for mname, (label, _) in methods.items():
                t0 = time.perf_counter()
                lab = np.asarray(label(rec, det)).astype("<U1")
                seconds = time.perf_counter() - t0
                if lab.shape != det.shape:
                    raise DataError(f"{mname} gave {lab.size} labels for {det.size} beats on {name}")
                a = round(span_s[0] * rec.fs_hz)
                b = rec.n_samples if span_s[1] is None else min(rec.n_samples, round(span_s[1] * rec.fs_hz))
                # labelled with the whole record as context, scored outside the VF episodes
                m, rl, dl, ri, di = confusion(ref, ref_lab, det[det_keep], lab[det_keep], tol, (a, b))
                per_method[mname].append(
                    {
                        "record": name,
                        "span_s": [a / rec.fs_hz, b / rec.fs_hz],
                        "duration_s": max(0, b - a) / rec.fs_hz,
                        "vf_excluded_s": round(sum(y - x for x, y in vf) / rec.fs_hz, 1),
                        "lead": beat_lead(rec),
                        "confusion": m,
                        "classes": class_scores(m),
                        "detection": detection_scores(m),
                        "episodes": episodes(rl, dl, ri, di),
                        "seconds_detection": round(t_det, 3),
                        "seconds_labelling": round(seconds, 3),
                    }
                )
        if progress:
            print(f"[{k + 1}/{len(records)}] {name}", file=sys.stderr)
    results: dict[str, Any] = {
        "tolerance_ms": MATCH_TOLERANCE_S * 1000,
        "records": [n for n, _ in records],
        "n_records": len(records),
        "n_boot": n_boot,
        "span_s": list(span_s),
        "confusion_rows": list(REF_ROWS),
        "confusion_cols": list(PRED_COLS),
        "methods": [],
    }
    for mname, rows in per_method.items():
        pooled, ci = _pooled(rows), bootstrap(rows, n_boot)
        results["methods"].append(
            {
                "name": mname,
                **methods[mname][1],
                "scores": summary_scores(pooled, ci),
                "pooled": pooled,
                "ci95": ci,
                "per_record": rows,
            }
        )
    return _jsonable(results)


def summary_scores(pooled: dict[str, Any], ci: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of one method (what ``trainer export --test-results`` stores in a
    checkpoint as ``metrics.test``): per class Se, +P, F1 with CIs, the episodes, the detection."""
    out: dict[str, Any] = {}
    for c in SCORED:
        s = pooled["classes"][c]
        out[c] = {"n_ref": s["n_ref"]}
        for k in ("sensitivity", "ppv", "f1"):
            out[c][k] = s[k]
            out[c][f"{k}_ci"] = ci.get(f"{c}.{k}")
    out["episodes"] = {**pooled["episodes"], "share_detected_ci": ci.get("episodes.share_detected")}
    out["detection"] = pooled["detection"]
    return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(float(obj)) else round(float(obj), 5)
    return obj


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def _ci(ci: Sequence[float | None] | None) -> str:
    if not ci or ci[0] is None:
        return ""
    return f" [{_pct(ci[0])}, {_pct(ci[1])}]"


def table_markdown(results: dict[str, Any]) -> str:
    """The tables of ``table.md`` (percentages; 95 % bootstrap CIs over records in brackets)."""
    start, stop = results.get("span_s", [0.0, None])
    span = ""
    if start or stop is not None:
        span = f" (beats from {start:g} s to " + ("the end)" if stop is None else f"{stop:g} s)")
    lines = [
        f"Records: {', '.join(results['records'])}{span}. "
        f"Beats matched within {results['tolerance_ms']:g} ms; "
        "Se = sensitivity, +P = positive predictivity (%), gross statistics over the records with "
        "95 % bootstrap CIs over records.",
        "",
    ]
    for res in results["methods"]:
        pooled, ci = res["pooled"], res.get("ci95", {})
        lines += [
            f"### {res['name']}: {res.get('checkpoint') or 'default checkpoint'}",
            "",
            "| class | reference beats | Se % | +P % | F1 % |",
            "|---|---:|---|---|---|",
        ]
        for c in SCORED:
            s = pooled["classes"][c]
            label = "V+F (either)" if c == "VF" else c
            lines.append(
                f"| {label} | {s['n_ref']} | {_pct(s['sensitivity'])}{_ci(ci.get(f'{c}.sensitivity'))} | "
                f"{_pct(s['ppv'])}{_ci(ci.get(f'{c}.ppv'))} | {_pct(s['f1'])}{_ci(ci.get(f'{c}.f1'))} |"
            )
        ep, det = pooled["episodes"], pooled["detection"]
        lines += [
            "",
            "PVC/fusion episodes detected (the record-level figure of Hernández-Fernández et al.): "
            f"{ep['n_detected']} of "
            f"{ep['n_true']} = "
            f"**{_pct(ep['share_detected'])} %**{_ci(ci.get('episodes.share_detected'))}; false V/F "
            f"episodes: {ep['n_false']} ({ep['false_per_hour']:.1f} per hour over {pooled['hours']:.2f} h).",
            f"QRS detection: Se {_pct(det['sensitivity'])} %, +P {_pct(det['ppv'])} % "
            f"({det['n_ref']} reference beats, {det['n_detected']} detected).",
            "",
            "Confusion matrix (rows: reference, columns: assigned):",
            "",
            "| | " + " | ".join(results["confusion_cols"]) + " |",
            "|---|" + "---:|" * len(results["confusion_cols"]),
        ]
        for name, row in zip(results["confusion_rows"], pooled["confusion"]):
            lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
        lines += [
            "",
            "Per record:",
            "",
            "| record | beats | S ref | S Se % | S +P % | V ref | V Se % | V +P % | F ref | F Se % | F +P % "
            "| episodes | QRS Se % |",
            "|---|---:|---:|---|---|---:|---|---|---:|---|---|---|---|",
        ]
        for r in res["per_record"]:
            v, f, e = r["classes"]["V"], r["classes"]["F"], r["episodes"]
            sv = r["classes"]["S"]
            lines.append(
                f"| {r['record']} | {r['detection']['n_ref']} | {sv['n_ref']} | {_pct(sv['sensitivity'])} | "
                f"{_pct(sv['ppv'])} | {v['n_ref']} | {_pct(v['sensitivity'])} | "
                f"{_pct(v['ppv'])} | {f['n_ref']} | {_pct(f['sensitivity'])} | {_pct(f['ppv'])} | "
                f"{e['n_detected']}/{e['n_true']} | {_pct(r['detection']['sensitivity'])} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_outputs(results: dict[str, Any], out: Path | None) -> None:
    """``results.json`` and ``table.md`` in ``out`` (the table to stdout as well)."""
    reporting.write_outputs(results, table_markdown(results), out, comment_header=True, json_newline=True)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m trainer evaluate-beats``."""
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="the shared data folder (default ../shared/data)",
    )
    p.add_argument(
        "--records",
        nargs="+",
        default=["test"],
        metavar="R",
        help="roles of the split file (test, val, train), record names of it (qtdb/sel223) or paths of "
        "annotated records (default: test)",
    )
    p.add_argument(
        "--split-file", type=Path, default=None, metavar="JSON", help="record split (default beats.json)"
    )
    p.add_argument(
        "--method",
        action="append",
        choices=METHODS,
        default=None,
        help="classifier (the 1-D beat classifier with the prematurity rule, as the viewer), "
        "classifier-no-rule (the network's argmax alone) and/or segmentation (the ECG-image "
        "segmentation of Hernández-Fernández et al.); repeat to compare them on the same beats (default "
        "classifier)",
    )
    p.add_argument(
        "--checkpoint", default="beatnet", help="beat classifier checkpoint (default: bundled beatnet)"
    )
    p.add_argument(
        "--segmentation-checkpoint",
        default=None,
        metavar="CKPT",
        help="checkpoint of the segmentation method (default: its bundled one)",
    )
    p.add_argument(
        "--start-s", type=float, default=0.0, help="score only beats from this time on (s; default 0)"
    )
    p.add_argument(
        "--stop-s", type=float, default=None, help="score only beats before this time (s; default: the end)"
    )
    p.add_argument("--device", default="auto", help="device for the classifier (default auto)")
    p.add_argument(
        "--bootstrap", type=int, default=2000, help="bootstrap resamples for the CIs (default 2000)"
    )
    reporting.add_out_option(p, csv=False)
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def run_evaluate_beats(args: argparse.Namespace, argv: list[str]) -> int:
    """``python -m trainer evaluate-beats``."""
    from trainer.data.beats import BEAT_SPLIT_FILE
    from trainer.options import command_line

    root = args.data or Path(__file__).resolve().parents[2] / "shared" / "data"
    split_file = args.split_file or BEAT_SPLIT_FILE
    records = resolve_records(Path(root), args.records, Path(split_file))
    methods: dict[str, tuple[Labeller, dict[str, Any]]] = {}
    for m in dict.fromkeys(args.method or ["classifier"]):
        if m in ("classifier", "classifier-no-rule"):
            methods[m] = classifier_method(args.checkpoint, args.device, rule=m == "classifier")
        else:
            methods[m] = segmentation_method(args.segmentation_checkpoint)
    results = evaluate_beats(
        records, methods, n_boot=args.bootstrap, span_s=(args.start_s, args.stop_s), progress=not args.quiet
    )
    results["command"] = command_line(argv)
    results["split"] = "+".join(args.records)
    results["data"] = {"source": "annotated beats (.atr)", "split_file": str(split_file), "root": str(root)}
    write_outputs(results, args.out)
    return 0


COMMAND = Command(
    help="score beat detection and classification against .atr annotations",
    description=(
        "Detect the beats of each record, label them with each --method, match them to the .atr "
        "reference beats (150 ms) and report per-class sensitivity, positive predictivity and F1 "
        "with bootstrap CIs, the confusion matrix and the share of PVC/fusion episodes detected."
    ),
    add_arguments=add_arguments,
    run=run_evaluate_beats,
)
