"""Build hook: the wheel carries ``resources/`` as package data ``ecgviewer/_resources``.

Everything else about the package is in ``pyproject.toml``. The source tree keeps
``resources/`` at the top level (the trainer writes checkpoints there, ``make run``
opens its sample); :mod:`ecgviewer.resources` finds it there in a checkout or an
editable install, and as ``ecgviewer/_resources`` (through ``importlib.resources``)
in an installed wheel. An editable build copies nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: The source folder and where it goes inside the package.
RESOURCES = ROOT / "resources"
PACKAGE_RESOURCES = Path("ecgviewer") / "_resources"


class build_py_with_resources(build_py):
    """``build_py`` that also copies ``resources/`` into ``ecgviewer/_resources`` of the build."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads resources/ from the checkout
        if not RESOURCES.is_dir():
            raise SystemExit(f"{RESOURCES} is missing: the wheel would have no models and no sample")
        dest = Path(self.build_lib) / PACKAGE_RESOURCES
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(RESOURCES, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False) and RESOURCES.is_dir():
            base = Path(self.build_lib) / PACKAGE_RESOURCES
            outputs += [
                str(base / p.relative_to(RESOURCES)) for p in sorted(RESOURCES.rglob("*")) if p.is_file()
            ]
        return outputs


setup(cmdclass={"build_py": build_py_with_resources})
