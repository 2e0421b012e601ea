"""The AAMI beat classes (ANSI/AAMI EC57) every beat label of ecgviewer uses (numpy- and scipy-free).

Defined apart from :mod:`ecgviewer.core.beat_pass` (which needs scipy) so that light modules --
the over-read and its sidecar, the analysis layer at import -- can name the classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Beat classes in model-output order, the AAMI EC57 classes: normal, bundle-branch block or escape
#: (N), supraventricular ectopic (S: atrial, aberrated atrial, junctional or supraventricular
#: premature), premature ventricular contraction (V), fusion of ventricular and normal (F),
#: paced or unclassifiable (Q).
BEAT_CLASSES: tuple[str, ...] = ("N", "S", "V", "F", "Q")
CLASS_DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "N": "normal beat (including bundle-branch block and escape beats)",
        "S": "supraventricular ectopic beat (APC, junctional premature)",
        "V": "premature ventricular contraction (PVC)",
        "F": "fusion of ventricular and normal beat",
        "Q": "paced or unclassifiable beat",
    }
)
