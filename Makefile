# The two commands of the quick start, `make demo` and `make test`, do all the set-up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
export COMPSTAT_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)
DATA := $(COMPSTAT_DATA_DIR)/cdmx
# The hotspot evaluation `make load` writes and the demo's /mapa/metodos shows.
EVALUATION := $(abspath $(VENV))/demo-hotspot-evaluation-2023.json
# Debian packages: the map's Leaflet and d3 and the trend charts' Chart.js (served by the
# app, so maps and charts draw offline) and the Chromium the browser tests drive.
# Installed when missing, as root, with apt.
JS_DIR := /usr/share/javascript
MAP_LIBS := $(JS_DIR)/leaflet/leaflet.min.js $(JS_DIR)/leaflet/leaflet.markercluster.js \
  $(JS_DIR)/d3/d3.min.js $(JS_DIR)/chart.js/chart.min.js
CHROMIUM := /usr/bin/chromium
APT := DEBIAN_FRONTEND=noninteractive apt-get -y -qq

.PHONY: install map-libs demo demo-users load serve test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Never a CDN: without root or apt, install these packages by hand or the maps and charts
# will not draw (the pages say which package is missing).
map-libs:
	@if ! ls $(MAP_LIBS) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    $(APT) update && $(APT) install libjs-leaflet libjs-leaflet.markercluster libjs-d3 libjs-chart.js; \
	  else echo "note: install libjs-leaflet, libjs-leaflet.markercluster, libjs-d3 and" \
	    "libjs-chart.js (as root): without them the maps and charts will not draw"; fi; \
	fi

$(CHROMIUM):
	$(APT) update && $(APT) install chromium

# The interface's translations, compiled from their gettext sources (web/translations).
CATALOGS := $(patsubst %.po,%.mo,$(wildcard web/translations/*/LC_MESSAGES/*.po))
%.mo: %.po $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@

install: $(STAMP) map-libs $(CATALOGS)

load: install
	@test -n "$(COMPSTAT_DATA_DIR)" || { echo "COMPSTAT_DATA_DIR is not set and ../shared/data is absent: see README, 'Data'"; exit 2; }
	$(BIN)/compstat db upgrade
	$(BIN)/compstat territory load "$(DATA)/quadrants/ssp_2016_official/Cuadrantes_2016_region_shp.zip" --vintage 2016 \
	  --population "$(DATA)/quadrants/hoyodecrimen_2016/cuadrantes_population.shp"
	$(BIN)/compstat territory load "$(DATA)/quadrants/hoyodecrimen_2023/cuadrantes_population_2023.gpkg" --vintage 2023
	$(BIN)/compstat incidents load "$(DATA)/incidents/ssp_2013_2016/crime-lat-long.csv.zip" --source ssp
	$(BIN)/compstat incidents load "$(DATA)/incidents/fgj_carpetas_2019_2023/fgj_carpetas_points_2019_2023.csv.gz" --source fgj
	for v in 2016 2023; do $(BIN)/compstat commanders demo --vintage $$v -o $(VENV)/demo-roster-$$v.csv \
	  && $(BIN)/compstat commanders load $(VENV)/demo-roster-$$v.csv --fictitious || exit 1; done
	# ILLUSTRATIVE trial data: 60 of the database's 72 sectors of 2016, seeded arms, simulated officers
	$(BIN)/compstat covariates --vintage 2016 --from 2015-07-01 --to 2016-06-30 --out $(VENV)/demo-covariates-2016.csv
	$(BIN)/compstat trial demo --sectors $(VENV)/demo-covariates-2016.csv --out-dir $(VENV)/demo-trial
	# which hotspot method predicts 2023 best (/mapa/metodos shows it; about half a minute)
	$(BIN)/compstat hotspots evaluate --vintage 2023 --year 2023 --method all --format json -o $(EVALUATION)

# One user per role; each run sets new random passwords, printed here once and stored nowhere.
DEMO_ROLES := admin commander planner researcher
demo-users: load
	@echo "Demo users (new passwords on every run of make demo):"
	@for role in $(DEMO_ROLES); do $(BIN)/compstat users add demo_$$role --role $$role --reset || exit 1; done

demo: load demo-users
	COMPSTAT_HOTSPOT_EVALUATION=$${COMPSTAT_HOTSPOT_EVALUATION:-$(EVALUATION)} \
	  $(BIN)/compstat serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install lint $(CHROMIUM)
	$(BIN)/compstat db setup
	$(BIN)/pytest

bench: install
	$(BIN)/compstat db setup
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
