"""Settings read from the environment, with defaults that work out of the box."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: Where the data directory is looked for when ``COMPSTAT_DATA_DIR`` is unset: beside
#: the current directory's parent, then beside the checkout this package lives in.
DEFAULT_DATA_DIRS = (Path("../shared/data"), Path(__file__).resolve().parents[2] / "shared/data")


@dataclass(frozen=True)
class Settings:
    """Run-time settings.

    Attributes
    ----------
    database_url : str or None
        SQLAlchemy URL of a PostGIS database; ``None`` means "manage a local one".
    data_dir : Path or None
        Directory holding the public data files (its ``cdmx/`` tree).
    """

    database_url: str | None
    data_dir: Path | None


def data_dir_from(env: Mapping[str, str]) -> Path | None:
    """Return the data directory named by ``env``, or the default when it exists."""
    named = env.get("COMPSTAT_DATA_DIR")
    if named:
        return Path(named)
    return next((p.resolve() for p in DEFAULT_DATA_DIRS if p.is_dir()), None)


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from environment variables.

    The more specific ``COMPSTAT_DATABASE_URL`` wins over ``DATABASE_URL`` (as in the
    web app, whose config reads ``COMPSTAT_*`` variables); both are optional.
    """
    env = os.environ if env is None else env
    url = env.get("COMPSTAT_DATABASE_URL") or env.get("DATABASE_URL") or None
    return Settings(database_url=url, data_dir=data_dir_from(env))
