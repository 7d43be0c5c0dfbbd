"""Write the notebooks from the cell sources below (run after editing: keeps them reviewable).

The notebooks import ``bms`` and hold no logic of their own; the test suite executes each one
(tests/notebooks/test_notebooks.py). Each notebook's metadata lists the datasets it needs under
``bms.datasets`` so that the test skips (or, in CI, fails) when one is missing.

    .venv/bin/python notebooks/make_notebooks.py
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}

DATASETS_CELL = """
import os
from pathlib import Path

DATASETS = Path(os.environ.get("BMS_DATASETS", "../../shared/datasets"))
"""


def md(source: str) -> nbformat.NotebookNode:
    """A markdown cell; paragraphs may be wrapped in the source."""
    paragraphs = dedent(source).strip().split("\n\n")
    return new_markdown_cell("\n\n".join(" ".join(p.split("\n")) for p in paragraphs))


def code(source: str) -> nbformat.NotebookNode:
    """A code cell."""
    return new_code_cell(dedent(source).strip())


def notebook(name: str, datasets: list[str], cells: list[nbformat.NotebookNode]) -> None:
    """Write ``HERE/name``."""
    nb = new_notebook(cells=cells)
    for number, cell in enumerate(nb.cells):
        cell.id = f"cell-{number}"  # stable ids: regenerating changes nothing
    nb.metadata["kernelspec"] = KERNEL
    nb.metadata["bms"] = {"datasets": datasets}
    nbformat.write(nb, HERE / name)


SKAB = [
    md("""
        # SKAB: the leaderboard protocol

        Each of the 34 labelled files: the first 400 rows train the detector (no labels), the
        rest are scored; F1, FAR and MAR are pooled over all test points, as the SKAB protocol
        states. This is exactly `bms evaluate skab --data DIR --json`. The leaderboard's own code
        also counts each file's training rows, flagged by the model fitted on them
        (`with_training_rows` below; `docs/anomaly.md`, "How the leaderboard counted").
    """),
    code(DATASETS_CELL),
    code("""
        from bms.evaluate.skab import evaluate_skab

        result = evaluate_skab(DATASETS / "skab")
        result
    """),
    md("""
        The published leaderboard's best entry is F1 0.78 at FAR 13.6 %, counted with the
        training rows: compare it with `result["with_training_rows"]`. `docs/anomaly.md` has the
        side-by-side benchmark with PyOD (`benchmarks/bench_detectors.py`).
    """),
    code("""
        assert result["n_files"] == 34
        print(f"F1 {result['f1']:.3f}, FAR {result['far']:.1f} %, MAR {result['mar']:.1f} %")
    """),
]

CMAPSS = [
    md("""
        # C-MAPSS: remaining useful life

        Train on `train_FD00x` (run-to-failure), predict at the last cycle of each test unit,
        score RMSE and the PHM08 score against the true RUL clipped at 125 (the common protocol)
        and unclipped. This is exactly `bms evaluate cmapss --data DIR --subset FD001 --json`;
        the true test RUL is read only after predicting.
    """),
    code(DATASETS_CELL),
    code("""
        import pandas as pd

        from bms.evaluate.cmapss import evaluate_cmapss

        rows = [evaluate_cmapss(DATASETS / "cmapss", subset) for subset in ("FD001", "FD003")]
        pd.DataFrame(rows).set_index("subset")
    """),
    md("""
        Published tree ensembles score RMSE 15.7-17.9 on FD001; the deep-learning state of the
        art is about 11 (`docs/rul.md`).
    """),
]


RETRAINING = [
    md("""
        # Retraining walkthrough: train, compare, promote, roll back

        On the simulated Besançon site: store 45 days of telemetry, train each equipment's
        fault detector (`bms train anomaly`), see the registry (`bms models list`), watch a
        worse candidate being refused, then promote and roll back by hand. Everything here is
        the `bms` Python API the commands call; `BMS_HOME` decides where data and models go.
    """),
    code("""
        import pandas as pd

        from bms.config import get_settings
        from bms.jobs.train_anomaly import model_name, train_site_anomaly
        from bms.models.equipment_detection import DetectionParams
        from bms.models.registry import ModelRegistry
        from bms.simulate import simulate_site, write_simulation
        from bms.site.loader import load_site
        from bms.telemetry.parquet import ParquetStore

        settings = get_settings()
        site = load_site("besancon")
        result = simulate_site(site, "2026-01-05", 45, seed=7, faults="default")
        write_simulation(result, ParquetStore(settings.telemetry_dir), settings.home)
        result.ground_truth[["equipment", "fault", "category", "onset", "failure"]].head(8)
    """),
    md("""
        ## Train every detector

        The last 7 days are held back. With the ground truth beside the telemetry, the
        candidate and the production detector are compared on row-level F1 where the held-back
        days hold a labelled fault of the equipment, else on the share of rows they flag.
        There is no production version yet, so each first candidate is promoted.
    """),
    code("""
        registry = ModelRegistry(settings.models_dir)
        decisions = train_site_anomaly(settings, registry, site, holdout_days=7)
        table = pd.DataFrame([d.to_dict() for d in decisions])
        table[["name", "candidate_version", "metric", "candidate_score", "promoted"]].head(10)
    """),
    md("""
        ## A worse candidate is refused

        A chiller detector on unsmoothed residuals with a threshold of half a robust standard
        deviation flags noise: it is registered (so it can be inspected) but stays a candidate.
    """),
    code("""
        chiller = "besancon/hq/chiller-1"
        jumpy = DetectionParams(k_sigma=0.5, smooth_steps=1, min_valid_steps=1)
        [worse] = train_site_anomaly(
            settings, registry, site, equipment=chiller, holdout_days=7, params=jumpy
        )
        assert not worse.promoted
        print(worse.reason)
    """),
    md("""
        ## Promote and roll back by hand

        Promotion is always explicit (`bms models promote NAME VERSION`); a rollback returns
        to the previous production version. Loading verifies the artifact's SHA-256 first.
    """),
    code("""
        name = model_name(chiller)
        registry.promote(name, worse.candidate_version, reason="walkthrough: forced by hand")
        print("production:", registry.production(name).version)
        registry.rollback(name, reason="walkthrough: back to the better one")
        print("production after rollback:", registry.production(name).version)
        assert registry.production(name).version == worse.champion_version
        detector = registry.load(name)
        pd.DataFrame(registry.history(name))[["action", "version", "reason"]]
    """),
]


IMS = [
    md("""
        # IMS bearings: a warning before a real failure, from the Python API

        Four bearings on one shaft, their mean absolute vibration every 10 minutes until
        bearing 1 failed (`ims_bearing`, a data set no detector setting was chosen on). Train
        on the healthy 12-13 February, score the rest: when does the alarm come, does it hold,
        does it say which bearing, and do the healthy days stay quiet? This is
        `bms evaluate ims --data DIR --json`, step by step.
    """),
    code(DATASETS_CELL),
    code("""
        from bms.evaluate.ims import ims_split, read_ims, warning_figures

        train, test = ims_split(read_ims(DATASETS / "ims_bearing"))
        print(f"{len(train)} training rows, {len(test)} test rows to the failure")
    """),
    md("""
        The product's default detector (what `bms detect` runs): features, residual + PCA
        ensemble, a threshold from held-out training rows for a 1 % false-alarm rate. Each
        test row gets a score in [0, 1] (0.5 = threshold), a flag, and each signal's share.
    """),
    code("""
        from bms.models.anomaly_pipeline import TimeSeriesDetector

        model = TimeSeriesDetector().fit(train)
        scored = model.score(test)
        figures = warning_figures(scored.index, scored["anomaly"].to_numpy())
        assert figures["false_alarm_rows"] == 0 and figures["held_lead_hours"] >= 48
        figures
    """),
    md("""
        Which signal the alarm is about: the mean contribution of each bearing over the
        flagged rows, and the episodes as `bms detect` lists them.
    """),
    code("""
        from bms.evaluate.detect_episodes import anomaly_episodes

        flagged = scored[scored["anomaly"] == 1]
        print(flagged.filter(like="contribution:").mean().sort_values(ascending=False).round(2))
        anomaly_episodes(scored.reset_index(), model.window_rows)
    """),
]


def main() -> None:
    notebook("reproduce_skab.ipynb", ["skab"], SKAB)
    notebook("reproduce_cmapss.ipynb", ["cmapss"], CMAPSS)
    notebook("retraining_walkthrough.ipynb", [], RETRAINING)
    notebook("detect_ims_bearings.ipynb", ["ims_bearing"], IMS)


if __name__ == "__main__":
    main()
