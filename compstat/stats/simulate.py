"""ILLUSTRATIVE trial data: a seeded assignment of study sectors and simulated officers.

The real trial's sector list and arms are not public. These functions draw an
illustrative stand-in so the trial commands can be run end to end; every row they
return carries ``illustrative = True``. They are pure: data frames in, data frames out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from compstat.stats.moderator import median_split

ILLUSTRATIVE_NOTE = "ILLUSTRATIVE: simulated data, not the real trial's sectors, arms or officers"

#: Effects planted in the simulated outcomes (outcome -> term -> coefficient), in
#: officer-level standard deviations. Behaviour changes less in higher-crime sectors;
#: mindset changes alike in both.
PLANTED_EFFECTS = {
    "behaviour_score": {"treatment": 0.8, "higher_crime": -0.3, "treatment:higher_crime": -0.7},
    "mindset_score": {"treatment": 0.5, "higher_crime": -0.1, "treatment:higher_crime": 0.0},
}
SECTOR_SD = 0.3
OFFICER_SD = 1.0
YEARS_EFFECT = 0.02


def _allocate(sizes: pd.Series, total: int) -> pd.Series:
    """Split ``total`` across groups in proportion to ``sizes`` (largest remainders)."""
    quotas = sizes / sizes.sum() * total
    allocated = np.floor(quotas).astype(int)
    remainders = (quotas - allocated).sort_values(ascending=False, kind="stable")
    allocated[remainders.index[: total - allocated.sum()]] += 1
    return allocated


def illustrative_assignment(
    sectors: pd.DataFrame, *, n_study: int = 60, seed: int = 0
) -> pd.DataFrame:
    """Draw ``n_study`` sectors within zones and treat half of them, within zones.

    Study sectors are allocated to zones in proportion to each zone's number of sectors
    (largest remainders) and drawn at random within each zone. Each zone treats half of
    its study sectors; zones with an odd number share the remaining treated sectors at
    random, so exactly ``n_study / 2`` are treated. The zone is the stratum.

    Parameters
    ----------
    sectors
        One row per sector with columns ``unit_id`` and ``zone``.
    n_study
        Number of study sectors (even, at most the number of sectors).
    seed
        Seed of the random generator.

    Returns
    -------
    pandas.DataFrame
        Columns ``sector, zone, stratum, arm, illustrative``, sorted by sector.
    """
    if n_study % 2 or not 2 <= n_study <= len(sectors):
        raise ValueError(f"n_study must be even and between 2 and {len(sectors)}, not {n_study}")
    if sectors["unit_id"].duplicated().any():
        raise ValueError("sector ids must be unique")
    rng = np.random.default_rng(seed)
    ordered = sectors.sort_values("unit_id").reset_index(drop=True)
    quotas = _allocate(ordered.groupby("zone").size(), n_study)
    chosen = [
        ordered[ordered["zone"] == zone].sample(n=quota, random_state=rng)
        for zone, quota in quotas.items()
    ]
    odd_zones = [zone for zone, quota in quotas.items() if quota % 2]
    extra = set(rng.permutation(odd_zones)[: len(odd_zones) // 2])
    parts = []
    for frame in chosen:
        zone = frame["zone"].iloc[0]
        n_treated = len(frame) // 2 + (zone in extra)
        arms = rng.permutation(np.repeat([1, 0], [n_treated, len(frame) - n_treated]))
        parts.append(frame.assign(arm=arms))
    drawn = pd.concat(parts).rename(columns={"unit_id": "sector"})
    drawn = drawn.assign(stratum=drawn["zone"], illustrative=True)
    columns = ["sector", "zone", "stratum", "arm", "illustrative"]
    return drawn[columns].sort_values("sector").reset_index(drop=True)


def illustrative_covariates(assignment: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """Simulate a crime rate per study sector and split it at the median.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit_id, zone, simulated_rate, higher_crime, illustrative``;
        ``higher_crime`` is the median split of ``simulated_rate`` within the study
        sectors (tie rule ``"lower"``).
    """
    rng = np.random.default_rng(seed)
    rate = np.round(rng.lognormal(mean=6.0, sigma=0.5, size=len(assignment)), 1)
    return pd.DataFrame(
        {
            "unit_id": assignment["sector"].to_numpy(),
            "zone": assignment["zone"].to_numpy(),
            "simulated_rate": rate,
            "higher_crime": median_split(rate),
            "illustrative": True,
        }
    )


def simulate_officers(
    assignment: pd.DataFrame,
    higher_crime: pd.Series,
    *,
    seed: int = 0,
    officers: tuple[int, int] = (20, 40),
) -> pd.DataFrame:
    """Simulate one row per officer with outcomes carrying :data:`PLANTED_EFFECTS`.

    Each outcome is the planted linear effect of the sector's arm and moderator, plus
    ``YEARS_EFFECT`` per year of service, a sector effect (sd ``SECTOR_SD``) and officer
    noise (sd ``OFFICER_SD``).

    Parameters
    ----------
    assignment
        Columns ``sector`` and ``arm`` (1/0).
    higher_crime
        Moderator (1/0) indexed by sector id.
    seed
        Seed of the random generator.
    officers
        Inclusive range of the number of officers per sector.

    Returns
    -------
    pandas.DataFrame
        Columns ``officer_id, sector, years_service, <outcomes>, illustrative``.
    """
    rng = np.random.default_rng(seed)
    sectors = assignment["sector"].to_numpy()
    counts = rng.integers(officers[0], officers[1] + 1, size=len(sectors))
    sector = np.repeat(sectors, counts)
    arm = np.repeat(assignment["arm"].to_numpy(dtype=float), counts)
    higher = higher_crime.reindex(sector).to_numpy(dtype=float)
    years = rng.integers(1, 31, size=sector.size)
    frame = pd.DataFrame(
        {
            "officer_id": [f"ILLUS-{i:05d}" for i in range(1, sector.size + 1)],
            "sector": sector,
            "years_service": years,
        }
    )
    for outcome, effects in PLANTED_EFFECTS.items():
        sector_effect = np.repeat(rng.normal(0, SECTOR_SD, size=len(sectors)), counts)
        frame[outcome] = np.round(
            effects["treatment"] * arm
            + effects["higher_crime"] * higher
            + effects["treatment:higher_crime"] * arm * higher
            + YEARS_EFFECT * years
            + sector_effect
            + rng.normal(0, OFFICER_SD, size=sector.size),
            4,
        )
    frame["illustrative"] = True
    return frame
