# The README's commands. `make demo` sets up everything on a fresh Debian machine (root) and
# renders the default demo set; `make test` runs the suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# CPU machines: the CPU wheel of torch first (no CUDA download); GPU machines: TORCH_SPEC=torch
TORCH_SPEC ?= torch==2.13.0
DEMO_OUT ?= demo

.PHONY: demo test docker-test bench experiment-fashion experiment-digits install system-deps clean

system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; for p in libegl1 libgl1 curl dataset-fashion-mnist chromium chromium-driver; do \
	    dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  python3 -c "import ensurepip" 2>/dev/null || missing="$$missing python3-venv"; \
	  if [ -n "$$missing" ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends $$missing; fi; \
	else echo "not root or no apt-get: make sure libegl1 libgl1 curl dataset-fashion-mnist chromium chromium-driver are installed"; fi

$(VENV)/.installed: pyproject.toml
	$(MAKE) system-deps
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[all]"
	touch $@

install: $(VENV)/.installed

demo: install
	rm -rf $(DEMO_OUT)
	$(VENV)/bin/unnatural render --out $(DEMO_OUT) --images 10000 --size 32
	$(VENV)/bin/unnatural shaders preview --out $(DEMO_OUT)/contact_sheet.png

test: install
	$(PY) -m pytest -q

# Build the cpu image with podman and run deploy/smoke.sh against it (root Debian machines
# without Docker, like CI's; docs/DEPLOY.md "Offline or podman"). The build uses this venv's
# pip configuration.
docker-test: install
	deploy/docker-test.sh $(PY)

bench: install
	$(PY) bench/render.py
	$(PY) bench/stream.py
	$(PY) bench/kd.py
	$(PY) bench/quant.py

experiment-fashion: install
	$(PY) -m unnatural.distill.studies.experiment fashion --out runs/fashion

experiment-digits: install
	$(PY) -m unnatural.distill.studies.experiment digits --out runs/digits

clean:
	rm -rf $(DEMO_OUT) build *.egg-info
