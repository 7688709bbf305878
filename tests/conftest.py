"""Shared fixtures: throwaway PostGIS databases and the real data directory.

Test databases are created on the managed local PostGIS with the same machinery
the CLI uses (``compstat.embedded``), and dropped when the session ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from compstat import db, embedded
from compstat.config import data_dir_from
from etl.incidents import load_incidents
from etl.territory import load_territory


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data directory; its absence is an error, not a skip."""
    found = data_dir_from(os.environ)
    if found is None or not (found / "cdmx").is_dir():
        pytest.fail("the data directory is missing: set COMPSTAT_DATA_DIR (see README, Data)")
    return found / "cdmx"


@pytest.fixture(scope="session")
def paths(data_dir: Path) -> dict[str, Path]:
    """The real files the tests load."""
    return {
        "q2016": data_dir / "quadrants/ssp_2016_official/Cuadrantes_2016_region_shp.zip",
        "pop2016": data_dir / "quadrants/hoyodecrimen_2016/cuadrantes_population.shp",
        "q2023": data_dir / "quadrants/hoyodecrimen_2023/cuadrantes_population_2023.gpkg",
        "ssp": data_dir / "incidents/ssp_2013_2016/crime-lat-long.csv.zip",
        "fgj": data_dir / "incidents/fgj_carpetas_2019_2023/fgj_carpetas_points_2019_2023.csv.gz",
        "sheet": data_dir
        / "counts/ssp_cuadrante_monthly_2013_2016/solicitud-2016-06_ssp_275416.zip",
    }


def fresh_engine(name: str) -> Engine:
    """Create a migrated test database private to this process and return its engine.

    The name carries the process id, so parallel test runs never share a database.
    """
    url = embedded.ensure_database(f"{name}_{os.getpid()}", fresh=True)
    db.upgrade(url)
    return db.engine(url)


def drop(engine: Engine) -> None:
    """Dispose of ``engine`` and drop its database."""
    engine.dispose()
    embedded.drop_database(engine.url.database)


@pytest.fixture(scope="session")
def real_db(paths: dict[str, Path]) -> Iterator[Engine]:
    """A database with both vintages, the SSP points and the FGJ points loaded."""
    engine = fresh_engine("compstat_test_real")
    load_territory(engine, paths["q2016"], "2016", paths["pop2016"])
    load_incidents(engine, paths["ssp"], "ssp")
    load_territory(engine, paths["q2023"], "2023")
    load_incidents(engine, paths["fgj"], "fgj")
    yield engine
    drop(engine)


@pytest.fixture(scope="module")
def territory_db(paths: dict[str, Path]) -> Iterator[Engine]:
    """A database with only the 2016 vintage loaded, for synthetic incident files."""
    engine = fresh_engine("compstat_test_unit")
    load_territory(engine, paths["q2016"], "2016", paths["pop2016"])
    yield engine
    drop(engine)


# --- users and logged-in clients (web/security.py, web/access.py) ---------------------------

#: Password of every test user (long enough for compstat.accounts).
TEST_PASSWORD = "contraseña de prueba 2016"
ROLES = ("admin", "commander", "planner", "researcher")


def make_users(engine: Engine) -> dict[str, str]:
    """Create one user per role, named ``t_<role>``, unless present; return role -> session id."""
    from compstat import accounts
    from compstat.errors import NotFoundError

    ids = {}
    with db.transaction(engine) as conn:
        for role in ROLES:
            try:
                user = accounts.get_user(conn, f"t_{role}")
            except NotFoundError:
                user = accounts.add_user(conn, f"t_{role}", role, TEST_PASSWORD, by="tests")
            ids[role] = accounts.session_id(user)
    return ids


def session_login(client, session_id: str) -> None:
    """Log ``client`` in by writing Flask-Login's session keys (ids from :func:`make_users`)."""
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True


def csrf_token(client, url: str = "/login") -> str:
    """Return the CSRF token of the form on ``url``."""
    body = client.get(url).get_data(as_text=True)
    return body.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]


def form_login(client, name: str, password: str = TEST_PASSWORD, **environ):
    """Log in through the form (with its CSRF token) and return the response."""
    token = csrf_token(client)
    data = {"name": name, "password": password, "csrf_token": token}
    return client.post("/login", data=data, environ_base=environ)


#: Synthetic SSP rows with distinctive coordinates, to prove points never reach a researcher.
SSP_HEADER = '"cuadrante","crime","date","hour","year","month","lat","long","id"'
SSP_POINTS = [
    '"P-1.4.8","ROBO A TRANSEUNTE C.V.",2015-01-01,"10:07",2015,1,19.3272468,-99.2103579,800001',
    '"P-1.4.7","ROBO A NEGOCIO C.V.",2015-03-10,"18:36",2015,3,19.3345468,-99.2036579,800002',
    '"P-1.2.7","HOMICIDIO DOLOSO",2015-07-04,"01:31",2015,7,19.3790468,-99.1961579,800003',
    # A year earlier, so the data cover a moderator's 12-month window (the covariates).
    '"P-1.2.7","ROBO A NEGOCIO C.V.",2014-06-01,"12:00",2014,6,19.3790468,-99.1961579,800004',
]
#: How the points above read when rounded to 6 decimals (as the API gives them).
POINT_MARKERS = ("19.327247", "-99.210358", "19.334547", "-99.203658")


@pytest.fixture(scope="module")
def web_db(territory_db: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The 2016 vintage, four synthetic SSP incidents and one user per role."""
    path = tmp_path_factory.mktemp("ssp") / "ssp_puntos.csv"
    path.write_text("\n".join([SSP_HEADER, *SSP_POINTS]) + "\n", encoding="utf-8")
    assert load_incidents(territory_db, path, "ssp").loaded == len(SSP_POINTS)
    make_users(territory_db)
    return territory_db
