"""ecgviewer.resources: the bundled checkpoints are found by task from their JSON files alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

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
