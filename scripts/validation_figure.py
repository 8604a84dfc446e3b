"""Write the README's validation-report figure from a SYNTHETIC cohort.

Generates 20,000 synthetic patients (``mescc synth``), derives a site table for
``rades_survival_2008`` with the planted category definitions (``mescc derive``) and writes
the Kaplan-Meier figure of its held-out validation to ``docs/figures/validation_km.png`` (and
the calibration figure beside it). SYNTHETIC DATA: the figure shows what the report looks like,
never evidence. Run by hand: ``.venv/bin/python scripts/validation_figure.py``; tests never
write here.
"""

from __future__ import annotations

import base64
import tempfile
from datetime import date
from pathlib import Path

from mescc.kb.loader import _instrument_files, build_kb
from mescc.registry import synth
from mescc.registry.cohort import OutcomeColumns, read_cohort
from mescc.registry.derive import Provenance, derive_table
from mescc.registry.report import calibration_figure, figure_png
from mescc.registry.validate import validate_cohort

OUT = Path(__file__).resolve().parents[1] / "docs" / "figures"
ID = synth.PLANTED_INSTRUMENT


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cohort.parquet"
        synth.write_synthetic(20_000, 7, path)
        cohort = read_cohort(
            path, OutcomeColumns("os_months", "death"), ignore=("ambulatory_after_rt",)
        )
        kb0 = build_kb(_instrument_files())
        table = Path(tmp) / f"{ID}.yaml"
        text, _, _, _, held = derive_table(
            cohort,
            kb0,
            ID,
            path.with_name("cohort.categories.yaml"),
            Provenance(
                "SYNTHETIC demonstration",
                "scripts/validation_figure.py",
                date(2015, 1, 1),
                date(2022, 12, 31),
            ),
            table_path=table,
        )
        kb = build_kb(_instrument_files(), [(str(table), text)])
        report = validate_cohort(cohort.subset(held, "held-out"), kb, instruments=[ID])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "validation_km.png").write_bytes(figure_png(report, ID))
    figs = report.figures[ID]
    cal = calibration_figure(
        f"{report.summary['instruments'][ID]['name']} (site-derived)",
        figs.calibration,
        figs.calibration_kind,
        True,
    )
    if cal is not None:
        (OUT / "validation_calibration.png").write_bytes(base64.b64decode(cal))
    print(f"wrote {OUT / 'validation_km.png'} and {OUT / 'validation_calibration.png'}")


if __name__ == "__main__":
    main()
