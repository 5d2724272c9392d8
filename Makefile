# The two commands of the README's quick start:
#   make demo   install what is missing, then run a short proxied-class demo
#   make test   install what is missing, then run every test suite
#   make soak   the robustness suite, longer (EXTRADITE_SOAK=6: 6x the
#               counts, 30 s of threads); EXTRADITE_SEED=N replays a run
# Each installs Debian packages (as root), a .venv and the package itself
# only when they are missing or out of date.

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
UNIT_BUILD := build/unit
APT_PACKAGES := gcc pkg-config libseccomp-dev libcap-ng-dev libcmocka-dev
PY_TOOLS := 'meson-python>=0.15' 'meson>=1.1' ninja 'pytest>=7'

# Other supported interpreters found on this machine (pyenv or Debian):
# `make test` builds the package and runs the Python suites with each.
OTHER_PYTHONS := $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3 \
	$(HOME)/.pyenv/versions/3.13*/bin/python3 /usr/bin/python3.12 /usr/bin/python3.13)

SOURCES := $(wildcard meson.build meson.options pyproject.toml */meson.build \
	protocol/*.[ch] sandbox/*.[ch] supervisor/*.[ch] pymodule/*.[ch] \
	pymodule/meson.build pymodule/extradite/*.py pymodule/extradite/_selftest/*.py \
	pymodule/extradite/_selftest/hostile/*.py pymodule/extradite/demo/*.py policies/*)

# The subinterpreter demo needs Python 3.12+: PYTHON if it is one, else the
# newest 3.12+ of OTHER_PYTHONS (empty when there is none). Evaluated only
# when used.
SUBINTERP_PYTHON = $(shell for py in $(PYTHON) $$(printf '%s\n' $(OTHER_PYTHONS) | sort -rV); do \
	$$py -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$py; break; }; \
	done)

.PHONY: all demo demo-subinterpreters test unit pytest robustness soak other-pythons bench deps install clean

all: install

demo: install
	$(VPY) examples/demo.py
	@$(MAKE) --no-print-directory demo-subinterpreters

# Builds that interpreter's venv (build/venv-X.Y) when it is not PYTHON.
demo-subinterpreters:
	@py="$(SUBINTERP_PYTHON)"; \
	if [ -z "$$py" ]; then \
		echo "No Python 3.12+ found: skipping the subinterpreter demo"; exit 0; \
	fi; \
	if [ "$$py" = "$(PYTHON)" ]; then venv=$(VENV); \
	else venv=build/venv-$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); fi; \
	$(MAKE) --no-print-directory install PYTHON=$$py VENV=$$venv && \
	echo "== $$venv/bin/python examples/subinterpreter_extradite_demo.py" && \
	$$venv/bin/python examples/subinterpreter_extradite_demo.py

test: unit pytest robustness other-pythons

unit: deps $(VENV)/.tools
	@[ -f $(UNIT_BUILD)/build.ninja ] || $(VENV)/bin/meson setup $(UNIT_BUILD) \
		-Dpython_module=false -Dunit_tests=enabled
	$(VENV)/bin/meson test -C $(UNIT_BUILD) --print-errorlogs

pytest: install
	$(VPY) -m pytest tests/python tests/security

# Fault injection, hostile frames, churn, threads (tests/robustness). Run
# with the main interpreter only: it drives the same C core the other
# Pythons' suites already cover, and takes about two minutes.
robustness: install
	$(VPY) -m pytest tests/robustness

EXTRADITE_SOAK ?= 6
soak: install
	EXTRADITE_SOAK=$(EXTRADITE_SOAK) $(VPY) -m pytest tests/robustness -s

other-pythons:
	@for py in $(OTHER_PYTHONS); do \
		v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		echo "== Python $$v ($$py)"; \
		$(MAKE) --no-print-directory pytest PYTHON=$$py VENV=build/venv-$$v || exit 1; \
	done

bench: install
	$(VPY) -m pip install -q rpyc
	$(VPY) bench/run.py

install: $(VENV)/.installed

# Debian packages: only the missing ones, refreshing the index if needed.
# Python's own headers and venv come with it when python3 is Debian's.
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" \
			|| missing="$$missing $$p"; \
	done; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	$(PYTHON) -c 'import os, sysconfig; \
		assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))' \
		2>/dev/null || missing="$$missing python3-dev"; \
	if [ -n "$$missing" ]; then \
		echo "apt-get install:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y --no-install-recommends $$missing \
		|| { apt-get update && apt-get install -y --no-install-recommends $$missing; }; \
	fi

$(VENV)/.tools:
	$(MAKE) deps
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check $(PY_TOOLS)
	touch $@

$(VENV)/.installed: $(VENV)/.tools $(SOURCES)
	$(VPY) -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps .
	touch $@

clean:
	rm -rf build $(VENV)  # build/ also holds the other Pythons' venvs
