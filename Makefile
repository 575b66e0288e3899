# Entry points: `make serve` runs the service on its embedded default (SQLite file),
# `make test` installs everything the tests need on a fresh Debian machine and runs them,
# `make lint` runs ruff (lint and format) on LINT_PATHS and mypy on the files pyproject.toml names (the
# same folders), with the settings in pyproject.toml; `make test` runs it first, so lint errors fail CI.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := ffmpeg chromium fonts-noto-cjk rtsp-server-perl redis-server
LINT_PATHS := vision service tests bench setup.py

.PHONY: serve test lint fuzz venv system-packages services model

$(BIN)/streetscan: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint]'
	touch $@

venv: $(BIN)/streetscan

# The int8 OpenVINO export of the shipped model (not committed); calibration images come from the
# training data under $STREETSCAN_SHARED (default ../shared). Without it the .pt runs through PyTorch.
models/streetscan-v1_int8_openvino_model/source.sha256: models/streetscan-v1.pt | venv
	YOLO_OFFLINE=1 $(BIN)/streetscan export-model

model: models/streetscan-v1_int8_openvino_model/source.sha256

serve: venv
	YOLO_OFFLINE=1 $(BIN)/streetscan serve

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; fi

# The servers the tests use: PostgreSQL (the second database backend) and Redis (the worker fleet's broker).
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start; \
	  for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379

test: lint system-packages services venv model
	YOLO_OFFLINE=1 $(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

# The API fuzzing test at length (STREETSCAN_FUZZ_EXAMPLES examples per operation; the test suite makes 25).
fuzz: services venv
	STREETSCAN_FUZZ_EXAMPLES=$${STREETSCAN_FUZZ_EXAMPLES:-1000} YOLO_OFFLINE=1 $(BIN)/python -m pytest -q tests/service/api/test_fuzz.py
