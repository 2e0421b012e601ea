"""**Untrained placeholder** checkpoints, for tests and for trying a new architecture in the viewer.

The bundled checkpoints are trained (``python -m trainer``, see docs/accuracy.md);
``python -m ecgviewer.models.placeholders OUT_DIR`` writes untrained ``resnet1d`` and
``vit1d`` (``.safetensors`` + ``.json``) into ``OUT_DIR``: random initialisation
with a fixed seed, label normalisation set to
the LUDB population statistics (``ludb/INTERVALS.md``: HR 67 ± 14 bpm -> RR about
900 ± 190 ms, PR 157 ± 25 ms, QRS 98 ± 18 ms, QT 396 ± 38 ms), so an untrained
model outputs values around the population means. The JSON says
``"trained": false, "status": "untrained placeholder"``. The output is
byte-for-byte reproducible on the same torch version.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ecgviewer.core.leads import INDEPENDENT_LEADS
from ecgviewer.models.checkpoint import CheckpointMeta, TargetSpec, save_checkpoint

PLACEHOLDER_STATUS = "untrained placeholder"
SEED = 20240601
#: LUDB population statistics used as label normalisation of the placeholders.
POPULATION_TARGETS: tuple[TargetSpec, ...] = (
    TargetSpec("rr_ms", "ms", 900.0, 190.0),
    TargetSpec("pr_ms", "ms", 157.0, 25.0),
    TargetSpec("qrs_ms", "ms", 98.0, 18.0),
    TargetSpec("qt_ms", "ms", 396.0, 38.0),
)


def placeholder_meta(architecture: str, config: dict) -> CheckpointMeta:
    """Metadata of an untrained placeholder for ``architecture``."""
    return CheckpointMeta(
        architecture=architecture,
        config=config,
        input_leads=INDEPENDENT_LEADS,
        fs_hz=500.0,
        window_samples=5000,
        scaling={"unit": "mV", "center": "median", "scale_mv": 1.0},
        targets=POPULATION_TARGETS,
        training={
            "data": "none (random initialisation)",
            "command": "python -m ecgviewer.models.placeholders",
            "seed": SEED,
        },
        metrics={},
        trained=False,
        status=PLACEHOLDER_STATUS,
    )


def write_placeholders(out_dir: str | Path) -> list[Path]:
    """Write the ``resnet1d`` and ``vit1d`` placeholders; return the JSON paths."""
    import torch

    from ecgviewer.models.registry import build_model, config_to_dict

    out_dir = Path(out_dir)
    written = []
    for name in ("resnet1d", "vit1d"):
        torch.manual_seed(SEED)
        model = build_model(name, {}).eval()
        config = config_to_dict(model.config)
        save_checkpoint(model, placeholder_meta(name, config), out_dir / name)
        written.append(out_dir / f"{name}.json")
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m ecgviewer.models.placeholders OUT_DIR")
    for p in write_placeholders(sys.argv[1]):
        print(f"wrote {p.with_suffix('.safetensors')} and {p}")
