"""``ecgviewer analyze ... --out OUT --engine ray``: the batch on a Ray cluster.

The same run as the local engine (:mod:`ecgviewer.analysis.batch`: inputs,
resume, documents, atomic outputs, CSV files, progress bar), scheduled by Ray:

* **prepare**: one Ray task per chunk of :data:`RECORDS_PER_TASK` records on
  the cluster's CPUs (:func:`~ecgviewer.analysis.batch.prepare_job`); its three
  results stay in Ray's object store: small statuses the driver reads, the model
  inputs (windows) and the records with their classical measurements;
* **predict**: a pool of model actors (:class:`_ModelActor`), one per GPU when
  the cluster has GPUs (``--device auto`` or ``cuda``), else one per 8 CPUs
  (at least one), each loading the networks once (interval model, classifier,
  wave delineator); the driver sends each actor batches of ``--batch-size``
  windows and gets one result per record;
* **write**: one Ray task per chunk (:func:`~ecgviewer.analysis.batch.write_job`
  for each record) assembles the document, writes ``KEY.json`` / ``KEY.pdf`` and the state file
  (so ``OUT`` must be a folder every node sees, e.g. a shared file system) and
  returns the documents to the driver, which keeps ``measurements.csv`` and
  ``errors.csv``.

The driver keeps a bounded number of records in flight, so memory stays flat
whatever the number of inputs. Without an address (``--ray-address`` or
``RAY_ADDRESS``) Ray starts embedded in this process with ``--workers`` CPUs, no
dashboard and no usage statistics, and is shut down at the end; with one, the
run joins that cluster as a job (and leaves it running).

Ray is an optional dependency (``pip install 'ecgviewer[distributed]'``); it is
imported only here.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from typing import Any

from ecgviewer.analysis.batch import (
    BatchRun,
    EngineError,
    InputFile,
    OutputSpec,
    pack,
    predict_records,
    prepare_job,
    unpack,
    write_job,
)
from ecgviewer.analysis.lifeline import descendants, reap_on_exit

#: CPUs per model actor when the networks run on CPUs.
CPUS_PER_CPU_ACTOR = 8
#: Records per prepare / write task (fewer tasks and objects per record: Ray's overhead is per task).
RECORDS_PER_TASK = 4
#: Model calls in flight per actor (one running, one queued: the actor never waits for the driver).
CALLS_PER_ACTOR = 2


def _prepare_task(
    paths: list[str], input_spec: dict[str, Any], classical: bool, class_spec: Any, delin_spec: Any = None
) -> tuple:
    """Ray task: :func:`prepare_job` for a chunk of records.

    Returns three objects: ``(statuses, cpu_s)`` (per record ``("ok", n_windows)`` or
    ``(stage, reason)``: small, for the driver), the model inputs (windows, classifier
    windows, delineator input; None for a failed record) and the record parts (record,
    classical measurement, quality).
    """
    t = time.process_time()
    statuses, model_in, records = [], [], []
    for path in paths:
        status, value = prepare_job(path, input_spec, classical, False, class_spec, delin_spec)
        if status != "ok":
            statuses.append((status, value))
            model_in.append(None)
            records.append(None)
            continue
        record, windows, analysis, class_windows, quality, delin = value
        statuses.append(("ok", len(windows.data)))
        model_in.append(pack((windows, class_windows, delin)))
        records.append(pack((record, analysis, quality)))
    return (statuses, time.process_time() - t), model_in, records


def _write_task(items: list[InputFile], spec: OutputSpec, *parts: Any) -> tuple:
    """Ray task: :func:`write_job` (outputs, then the state file) for the prepared records of chunks.

    ``parts``: per chunk its model outputs, then per chunk its record parts.
    Returns ``([(status, value) per item], cpu_s)``.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    t = time.process_time()
    half = len(parts) // 2
    outs = [o for chunk in parts[:half] for o in chunk if o is not None]
    recs = [r for chunk in parts[half:] for r in chunk if r is not None]
    results, model_cpu = [], 0.0
    for item, out, rec in zip(items, outs, recs):
        record, classical, quality = unpack(rec)
        prediction, classification, delineation, cpu = unpack(out)
        model_cpu += cpu
        results.append(
            write_job(item, spec, record, classical, prediction, classification, quality, delineation)
        )
    return results, time.process_time() - t + model_cpu


class _ModelActor:
    """Holds the networks (loaded once) and runs the windows of many records through them."""

    def __init__(
        self,
        model: str,
        classifier: str | None,
        device: str,
        stride_s: float,
        batch_size: int,
        delineator: str | None = None,
    ):
        from ecgviewer.analysis.models import ModelSet

        models = ModelSet()
        run = {"stride_s": stride_s, "batch_size": batch_size}
        self.predictor = models.predictor(model, device, **run)
        self.classifier = None if classifier is None else models.classifier(classifier, device, **run)
        self.delineator = None
        if delineator is not None:
            self.delineator = models.delineator(delineator, device, batch_size=batch_size)
        if str(self.predictor.device).startswith("cpu"):
            import torch

            torch.set_num_threads(1)  # beside the CPU tasks, like the local engine's model

    def device(self) -> str:
        return str(self.predictor.device)

    def predict(self, *chunks: list[Any]) -> Any:
        """Per chunk of model inputs, its outputs: ``pack((prediction, classification, delineation,
        cpu_s))`` or None."""
        t = time.process_time()
        inputs = [unpack(i) for chunk in chunks for i in chunk if i is not None]
        results = iter(predict_records(self.predictor, self.classifier, inputs, self.delineator))
        cpu = (time.process_time() - t) / max(len(inputs), 1)
        out = [[None if i is None else pack((*next(results), cpu)) for i in chunk] for chunk in chunks]
        return out if len(out) != 1 else out[0]


def _portable(runner: Any) -> str:
    """How a node finds ``runner``'s checkpoint: its bundled name (resolved there), else its path."""
    from ecgviewer.inference.predictor import resolve_checkpoint

    try:
        if resolve_checkpoint(runner.model_name) == runner.checkpoint_path:
            return runner.model_name
    except Exception:
        pass
    return str(runner.checkpoint_path)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EngineError("Ray is not installed: pip install 'ecgviewer[distributed]'") from None
    return ray


def _reason(exc: BaseException) -> str:
    """One line for a task or actor that died (a Ray error's first line, its cause's message)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


class RayEngine:
    """The Ray strategy of :func:`~ecgviewer.analysis.batch.run_batch` (see the module notes)."""

    name = "ray"

    def __init__(self, address: str | None = None):
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.device = "cpu"
        self.actors = 0
        self.started = False

    def _init(self, ray: Any, workers: int) -> bool:
        """Start or join Ray; True when this run started it (and so shuts it down)."""
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # never reports anywhere
        quiet = {"logging_level": logging.ERROR, "log_to_driver": False, "configure_logging": True}
        try:
            if self.address:
                ray.init(address=self.address, **quiet)
                return False
            ray.init(
                address="local",
                num_cpus=max(1, workers),
                include_dashboard=False,
                object_store_memory=max(256, 64 * max(1, workers)) * 2**20,
                **quiet,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            hint = ""
            if self.address and "RAY_AUTH_MODE" not in os.environ:
                hint = " (a cluster with token authentication needs RAY_AUTH_MODE=token here)"
            raise EngineError(f"cannot start or join Ray: {exc}{hint}") from exc
        return True

    def _actor_plan(self, ray: Any, requested: str) -> tuple[int, str, float]:
        """(actors, device, GPUs per actor) from the cluster's resources and ``--device``."""
        res = ray.cluster_resources()
        gpus, cpus = int(res.get("GPU", 0)), int(res.get("CPU", 1))
        if requested in ("auto", "cuda") and gpus > 0:
            return gpus, "cuda", 1.0
        if requested == "cuda":
            raise EngineError("--device cuda: the Ray cluster has no GPU")
        if requested == "mps":
            return 1, "mps", 0.0
        return max(1, cpus // CPUS_PER_CPU_ACTOR), "cpu", 0.0

    def run(self, run: BatchRun) -> None:
        ray = _import_ray()
        config = run.config
        self._t0 = t0 = time.perf_counter()
        self.started = self._init(ray, config.workers)
        # Ray's agents outlive a killed driver: if this process is killed, a reaper ends them
        reaper = reap_on_exit(descendants(os.getpid())) if self.started else None
        try:
            self._run(ray, run)
        finally:
            run.summary.startup_s = getattr(self, "_startup_s", time.perf_counter() - t0)
            ray.shutdown()  # an embedded Ray stops; a joined cluster keeps running, without this job
            if reaper is not None:
                reaper.kill()
                reaper.wait()

    def _run(self, ray: Any, run: BatchRun) -> None:
        config = run.config
        n_actors, device, gpus = self._actor_plan(ray, config.device)
        self.device, self.actors = device, n_actors
        cpus = int(ray.cluster_resources().get("CPU", 1))
        prepare = ray.remote(num_cpus=1, max_retries=1)(_prepare_task).options(num_returns=3)
        write = ray.remote(num_cpus=1, max_retries=1)(_write_task)
        actor_cls = ray.remote(num_cpus=0, num_gpus=gpus)(_ModelActor)
        classifier = None if run.classifier is None else _portable(run.classifier)
        delineator = None if run.delineator is None else _portable(run.delineator)
        args = (
            _portable(run.predictor),
            classifier,
            device,
            run.predictor.stride_s,
            config.batch_size,
            delineator,
        )
        actors = [actor_cls.options(scheduling_strategy="SPREAD").remote(*args) for _ in range(n_actors)]
        # the networks load (once per actor) while the first records are read; a failure stops the run
        loading = {a.device.remote() for a in actors}
        self._startup_s = time.perf_counter() - self._t0
        todo = deque(run.todo)
        spec, classical, input_spec, class_spec = run.spec, config.classical, run.input_spec, run.class_spec
        delin_spec = run.delin_spec
        chunk = max(1, min(RECORDS_PER_TASK, config.batch_size))
        prep: dict[Any, tuple[list[InputFile], Any, Any]] = {}  # status ref -> items, model inputs, records
        ready: list[tuple[list[InputFile], Any, Any, int]] = []  # prepared chunks: ok items, refs, windows
        writing: dict[Any, list[InputFile]] = {}
        max_prep = config.batch_size * max(1, n_actors) + 2 * cpus * chunk  # records
        max_writing = CALLS_PER_ACTOR * config.batch_size * max(1, n_actors) + 2 * cpus * chunk
        turn = 0

        def send(batch: list[tuple[list[InputFile], Any, Any, int]]) -> None:
            """One model call for these chunks; their write tasks (about one per ``chunk`` records)."""
            nonlocal turn
            actor = actors[turn % n_actors]
            turn += 1
            outs = actor.predict.options(num_returns=len(batch)).remote(*[m for _, m, _, _ in batch])
            outs = [outs] if len(batch) == 1 else outs
            group: list[tuple[list[InputFile], Any, Any]] = []
            for (items, _m, recs, _n), out in zip(batch, outs):
                group.append((items, out, recs))
                if sum(len(g[0]) for g in group) >= chunk:
                    flush(group)
                    group = []
            if group:
                flush(group)

        def flush(group: list[tuple[list[InputFile], Any, Any]]) -> None:
            items = [i for g in group for i in g[0]]
            ref = write.remote(items, spec, *[g[1] for g in group], *[g[2] for g in group])
            writing[ref] = items

        def in_flight(refs: dict[Any, Any]) -> int:
            return sum(len(v[0]) if isinstance(v, tuple) else len(v) for v in refs.values())

        while todo or prep or ready or writing:
            while todo and in_flight(prep) + sum(len(r[0]) for r in ready) < max_prep:
                items = [todo.popleft() for _ in range(min(chunk, len(todo)))]
                paths = [str(i.path) for i in items]
                status, model_in, recs = prepare.remote(paths, input_spec, classical, class_spec, delin_spec)
                prep[status] = (items, model_in, recs)
            n_windows = sum(n for *_, n in ready)
            room = in_flight(writing) < max_writing
            if ready and room and (n_windows >= config.batch_size or not (prep or todo)):
                batch, ready = ready, []
                send(batch)
                continue
            waiting = list(loading) + list(prep) + list(writing)
            if not waiting:
                continue
            done, _ = ray.wait(waiting, num_returns=1, timeout=1.0)
            if done:  # take everything else that is ready too
                done, _ = ray.wait(waiting, num_returns=len(waiting), timeout=0)
            for ref in done:
                if ref in loading:
                    loading.discard(ref)
                    try:
                        ray.get(ref)
                    except Exception as exc:
                        why = _reason(exc)
                        raise EngineError(f"the model actors cannot load the networks: {why}") from None
                elif ref in prep:
                    items, model_in, recs = prep.pop(ref)
                    try:
                        statuses, cpu = ray.get(ref)
                    except Exception as exc:  # the task died (e.g. its worker was killed twice)
                        for item in items:
                            run.failed(item, "read", _reason(exc))
                        continue
                    run.add_cpu(cpu)
                    ok, n = [], 0
                    for item, (status, value) in zip(items, statuses):
                        if status == "ok":
                            ok.append(item)
                            n += value
                        else:
                            run.failed(item, status, value)
                    if ok:
                        ready.append((ok, model_in, recs, n))
                else:
                    items = writing.pop(ref)
                    try:
                        results, cpu = ray.get(ref)
                    except Exception as exc:  # the model call or the write task failed
                        for item in items:
                            run.failed(item, "model", _reason(exc))
                        continue
                    run.add_cpu(cpu)
                    for item, (status, value) in zip(items, results):
                        if status == "ok":
                            run.finished(item, *value)
                        else:
                            run.failed(item, status, value)
            run.tick()
