# Two entry points: `make serve` runs the service on its embedded default (SQLite file),
# `make test` installs everything the tests need on a fresh Debian machine and runs them.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := ffmpeg chromium fonts-noto-cjk rtsp-server-perl

.PHONY: serve test fuzz venv system-packages services

$(BIN)/streetscan: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/streetscan

serve: venv
	YOLO_OFFLINE=1 $(BIN)/streetscan serve

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; fi

services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start; \
	  for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

test: system-packages services venv
	YOLO_OFFLINE=1 $(BIN)/python -m pytest -q

# The API fuzzing test at length (STREETSCAN_FUZZ_EXAMPLES examples per operation; the test suite makes 25).
fuzz: services venv
	STREETSCAN_FUZZ_EXAMPLES=$${STREETSCAN_FUZZ_EXAMPLES:-1000} YOLO_OFFLINE=1 $(BIN)/python -m pytest -q tests/service/test_api_fuzz.py
