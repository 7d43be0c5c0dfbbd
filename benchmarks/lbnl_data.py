"""What the LBNL benchmark scripts share: the folder they read (``--datasets``, else
``$BMS_DATASETS/lbnl_ahu``)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def lbnl_folder(description: str) -> Path:
    """The LBNL AHU folder given on the command line (``--datasets``), else
    ``$BMS_DATASETS/lbnl_ahu`` (default ``../shared/datasets/lbnl_ahu``)."""
    parser = argparse.ArgumentParser(description=description)
    default = Path(os.environ.get("BMS_DATASETS", "../shared/datasets")) / "lbnl_ahu"
    parser.add_argument("--datasets", type=Path, default=default, help="LBNL AHU folder")
    return parser.parse_args().datasets
