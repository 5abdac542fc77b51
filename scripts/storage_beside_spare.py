#!/usr/bin/env python3
"""EV discharge in ticks where the generators in reach had spare for it, from a run's state log.

    python3 scripts/storage_beside_spare.py [--threshold 0.10] RUN_DIR [RUN_DIR ...]

Per run directory (one holding state.parquet and summary.json): the ticks and MWh the EV hubs
delivered while the generators' spare at the safety threshold, less the starved consumers' demand,
exceeded the whole discharge (`beside spare`), and the stricter count of the discharge generators
could have carried (`coverable`); and fit-aware, beside the aggregate: those ticks less the load of
whole consumers that fit no generator's gap (the giver's `hub_unfit_mw`, logged after a second hop of
its hub load; 0 where not logged). See scowl.analysis.storage_last.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from scowl.analysis.storage_last import discharge_beside_spare_figures


def main(argv: list[str]) -> int:
    threshold = 0.10  # the seed's safety margin, every shipped config's
    if argv[:1] == ["--threshold"] and len(argv) > 1:
        threshold, argv = float(argv[1]), argv[2:]
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for run in map(Path, argv):
        summary = json.loads((run / "summary.json").read_text())
        f = discharge_beside_spare_figures(pd.read_parquet(run / "state.parquet"), threshold, summary["tick_seconds"] / 3600.0)
        print(f"{run}: beside spare {f['ticks_beside_spare']} ticks {f['mwh_beside_spare']:.2f} MWh; coverable "
              f"{f['ticks_coverable']} ticks {f['mwh_coverable']:.2f} MWh; delivered {f['delivered_mwh']:.1f} MWh "
              f"in {f['ticks_discharging']} ticks; fit-aware: beside spare {f['ticks_beside_spare_fit']} ticks "
              f"{f['mwh_beside_spare_fit']:.2f} MWh (whole consumers fitting no generator's gap: {f['mwh_unfit_beside_spare']:.2f} MWh)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
