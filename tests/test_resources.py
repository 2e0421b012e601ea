"""ecgviewer.resources: the bundled checkpoints are found by task from their JSON files alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from ecgviewer.resources import DEFAULT_CHECKPOINTS, bundled_checkpoints, resources_dir


def test_bundled_checkpoints_by_task_default_first():
    intervals = bundled_checkpoints("intervals")
    assert [c.name for c in intervals][:2] == ["resnet1d", "vit1d"]
    assert intervals[0].label == "ResNet (resnet1d)"
    classifiers = bundled_checkpoints("classification")
    assert [c.name for c in classifiers] == ["ptbxl100_crnn", "ptbxl_crnn", "ptbxl_resnet18"]
    assert all(c.task == "classification" for c in classifiers)
    assert [c.name for c in bundled_checkpoints("beats")] == ["beatnet"]
    assert bundled_checkpoints("no such task") == ()
    for task, name in DEFAULT_CHECKPOINTS.items():
        assert bundled_checkpoints(task)[0].name == name


def test_a_checkpoint_dropped_into_the_folder_appears(tmp_path, monkeypatch):
    monkeypatch.setenv("ECGVIEWER_CHECKPOINT_DIR", str(tmp_path))
    assert bundled_checkpoints("classification") == ()
    shutil.copy(_bundled("resnet1d.json"), tmp_path)
    meta = json.loads(_bundled("ptbxl_resnet18.json").read_text())
    meta.pop("label")
    (tmp_path / "aaa_statements.json").write_text(json.dumps(meta))  # no label: the name is shown
    (tmp_path / "broken.json").write_text("{not json")  # skipped
    found = bundled_checkpoints("classification")
    assert [(c.name, c.label) for c in found] == [("aaa_statements", "aaa_statements")]
    assert [c.name for c in bundled_checkpoints("intervals")] == ["resnet1d"]


def _bundled(name):
    return resources_dir() / "checkpoints" / name


def test_menus_need_neither_torch_nor_scipy():
    code = (
        "import sys; import ecgviewer.gui.actions as a; assert a.CLASSIFIER_CHOICES; "
        "bad = [m for m in ('torch', 'scipy') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_wheels_package_data_is_preferred_and_the_variables_override_it(tmp_path, monkeypatch):
    import ecgviewer.resources as res

    package = tmp_path / "ecgviewer"
    (package / res.PACKAGE_RESOURCES / "samples").mkdir(parents=True)
    monkeypatch.setattr(res._importlib_resources, "files", lambda name: package)
    res._bundled_dir.cache_clear()
    try:
        monkeypatch.delenv("ECGVIEWER_RESOURCES", raising=False)
        monkeypatch.delenv("ECGVIEWER_CHECKPOINT_DIR", raising=False)
        assert res.resources_dir() == package / "_resources"  # an installed wheel
        assert res.checkpoints_dir() == package / "_resources" / "checkpoints"
        monkeypatch.setenv("ECGVIEWER_RESOURCES", str(tmp_path / "mine"))
        assert res.sample_record() == tmp_path / "mine" / "samples" / "ptbxl_00001_hr.hea"
        monkeypatch.setenv("ECGVIEWER_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
        assert res.checkpoints_dir() == tmp_path / "ckpt"
        (package / res.PACKAGE_RESOURCES / "samples").rmdir()
        (package / res.PACKAGE_RESOURCES).rmdir()
        res._bundled_dir.cache_clear()
        monkeypatch.delenv("ECGVIEWER_RESOURCES")
        assert res.resources_dir() == Path(res.__file__).resolve().parents[1] / "resources"  # a checkout
    finally:
        res._bundled_dir.cache_clear()
