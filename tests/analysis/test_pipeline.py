"""ecgviewer.analysis: the one pipeline, its events, cancellation, failures and the model cache."""

from __future__ import annotations

import threading

import pytest

from ecgviewer.analysis import (
    STAGES,
    AnalysisCancelled,
    AnalysisOptions,
    ModelSet,
    RecordAnalysis,
    StageFailed,
    StageFinished,
    StageProgress,
    StageStarted,
    analyze_record,
    record_analysis,
)
from ecgviewer.core.readers import read_record
from ecgviewer.inference.errors import PredictionError
from ecgviewer.report.measurements import ClassificationFailure


@pytest.fixture(scope="module")
def record(ptbxl_dir):
    return read_record(ptbxl_dir / "00001_hr.hea")


@pytest.fixture(scope="module")
def models():
    return ModelSet()


def test_stages_run_in_order_with_events(record, models, tiny_classifier):
    events = []
    options = AnalysisOptions(classifier=str(tiny_classifier), device="cpu", batch_size=2, stride_s=2.5)
    result = analyze_record(record, options, models=models, on_event=events.append, source="x.hea")
    assert isinstance(result, RecordAnalysis) and result.source == "x.hea"
    ends = [(type(e).__name__, e.stage) for e in events if not isinstance(e, StageProgress)]
    assert ends == [
        ("StageStarted", "quality"),
        ("StageFinished", "quality"),
        ("StageStarted", "classical"),
        ("StageFinished", "classical"),
        ("StageStarted", "delineation"),
        ("StageFinished", "delineation"),
        ("StageStarted", "intervals"),
        ("StageFinished", "intervals"),
        ("StageStarted", "classification"),
        ("StageFinished", "classification"),
    ]
    progress = [e for e in events if isinstance(e, StageProgress) and e.stage == "intervals"]
    assert len(progress) >= 1 and progress[-1].done == progress[-1].total == result.prediction.n_windows
    finished = {e.stage: e for e in events if isinstance(e, StageFinished)}
    assert finished["intervals"].value is result.prediction
    assert finished["classical"].analysis.prediction is None  # the results so far
    assert finished["intervals"].analysis.classical is result.classical
    assert result.classification_result is finished["classification"].value and result.classifier_meta
    assert set(result.timings_s) == set(STAGES)
    doc = result.document()
    assert doc["record"]["file"] == "x.hea" and doc["classification"]["name"] == "tiny_cls"
    assert doc["measurements"]["qt_ms"]["model"] == pytest.approx(result.prediction["qt_ms"].value)
    # the headline intervals are the delineation's, its beats the classical R peaks
    assert (
        finished["delineation"].value is result.delineation and result.delineator_name == "unet_delineation"
    )
    assert doc["intervals"]["method"] == "unet_delineation"
    assert doc["intervals"]["values"]["qt_ms"]["value"] == pytest.approx(
        result.delineation.intervals["qt_ms"].value, abs=0.05
    )
    assert [b["r_sample"] for b in doc["delineation"]["beats"]] == result.classical.beats.r_peaks.tolist()


def test_a_classifier_failure_keeps_the_intervals(record, models, make_tiny_classifier, tmp_path):
    odd = make_tiny_classifier(tmp_path / "cls_v7", leads=("I", "II", "V1", "V2", "V3", "V4", "V5", "V7"))
    events = []
    options = AnalysisOptions(classifier=str(odd), device="cpu", classical=False)
    result = analyze_record(record, options, models=models, on_event=events.append)
    assert result.prediction is not None and result.classical is None
    assert isinstance(result.classification, ClassificationFailure) and "V7" in result.classification_error
    [failed] = [e for e in events if isinstance(e, StageFailed)]
    assert failed.stage == "classification" and failed.message.startswith("Cannot classify this record")
    assert not any(isinstance(e, StageStarted) and e.stage == "classical" for e in events)
    assert result.document()["classification"] == {"name": "cls_v7", "error": result.classification_error}


def test_an_interval_failure_does_not_stop_the_classifier(record, models, tiny_classifier):
    short = record.with_signals(record.signals[:, :2500])  # 5 s: too short for every model
    options = AnalysisOptions(classifier=str(tiny_classifier), device="cpu")
    events = []
    result = analyze_record(short, options, models=models, on_event=events.append)
    assert result.prediction is None and "10 s" in result.interval_error
    assert isinstance(result.classification, ClassificationFailure)  # too short for it as well
    assert [e.stage for e in events if isinstance(e, StageFailed)] == ["intervals", "classification"]


def test_cancellation_and_reclassification(record, models, tiny_classifier):
    calls = []

    def stop_after_classical() -> bool:
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(AnalysisCancelled):
        analyze_record(record, AnalysisOptions(device="cpu"), models=models, should_stop=stop_after_classical)
    first = analyze_record(record, AnalysisOptions(device="cpu"), models=models)
    assert first.classification is None
    again = analyze_record(
        record,
        AnalysisOptions(classifier=str(tiny_classifier), device="cpu"),
        models=models,
        stages=("classification",),
        previous=first,
    )
    assert again.prediction is first.prediction and again.classical is first.classical
    assert again.classification_result is not None
    with pytest.raises(ValueError, match="unknown stage"):
        analyze_record(record, stages=("waves",))


def test_record_analysis_turns_exceptions_into_failures(record):
    a = record_analysis(
        record, prediction=PredictionError("too short"), classification=RuntimeError("x"), classifier_name="c"
    )
    assert a.prediction is None and a.interval_error == "too short"
    assert a.classification == ClassificationFailure("c", "RuntimeError: x")
    doc = a.document()
    assert doc["model"] is None and doc["classification"]["error"] == "RuntimeError: x"


def test_model_set_loads_once_and_lazily():
    models = ModelSet()
    got = []

    def get():
        got.append(models.predictor("resnet1d", "cpu", batch_size=4))

    predictor = models.predictor("resnet1d", "cpu", batch_size=4, load=False)
    assert not predictor.loaded and not models.is_loaded("intervals", "resnet1d", "cpu")
    threads = [threading.Thread(target=get) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(p is predictor for p in got) and predictor.loaded
    assert models.is_loaded("intervals", "resnet1d", "cpu")
    models.discard("intervals")
    assert models.predictor("resnet1d", "cpu", batch_size=4, load=False) is not predictor
