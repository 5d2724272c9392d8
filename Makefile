# The two commands of the README's quick start:
#   make demo   install what is missing, then run a short proxied-class demo
#   make test   install what is missing, then run every test suite
#   make soak   the robustness suite, longer (EXTRADITE_SOAK=6: 6x the
#               counts, 30 s of threads); EXTRADITE_SEED=N replays a run
# Hardening (README, "Hardening"), each also part of `make test`:
#   make asan       cmocka + pytest suites against an ASan+UBSan build
#   make valgrind   cmocka suites under memcheck
#   make fuzz       each libFuzzer target for FUZZ_SECONDS (make test: 30 s)
# Each installs Debian packages (as root), a .venv and the package itself
# only when they are missing or out of date.

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
UNIT_BUILD := build/unit
# valgrind: `make valgrind`, and its header tells the unit tests they run
# under it (tests/unit/valgrind_skip.h).
APT_PACKAGES := gcc pkg-config libseccomp-dev libcap-ng-dev libcmocka-dev valgrind
# Only for the fuzz targets: clang, its libFuzzer runtime, and Debian's
# libpython to embed (the profile parser's harness).
FUZZ_APT_PACKAGES := clang libclang-rt-14-dev libpython3-dev
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

.PHONY: all demo demo-subinterpreters test unit pytest robustness soak other-pythons bench \
	deps install clean hardening asan asan-unit asan-pytest valgrind fuzz fuzz-deps

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

test: unit pytest robustness other-pythons hardening

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

# ---- hardening ----------------------------------------------------------

ASAN_BUILD := build/asan
ASAN_VENV := build/venv-asan
ASAN_LOGS := build/asan-logs
# Halt at the first report (UBSan is built without recovery). Reports also
# go to files, so one from a child whose death a test expects is not lost;
# the run fails on any. Leaks are checked in the C tests only: CPython keeps
# allocations until exit that LeakSanitizer would report.
SAN_COMMON := halt_on_error=1:abort_on_error=1:log_path=$(abspath $(ASAN_LOGS))/asan
ASAN_ENV = UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(abspath $(ASAN_LOGS))/ubsan
ASAN_UNIT_ENV = ASAN_OPTIONS=detect_leaks=1:$(SAN_COMMON) $(ASAN_ENV)
ASAN_PY_ENV = ASAN_OPTIONS=detect_leaks=0:$(SAN_COMMON) $(ASAN_ENV)
VALGRIND := valgrind --error-exitcode=1 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect -q
FUZZ_BUILD := build/fuzz
FUZZ_TARGETS := frame codec policy
FUZZ_SECONDS ?= 300

hardening: asan valgrind
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=30

asan: asan-unit asan-pytest

asan-unit: deps $(VENV)/.tools
	@[ -f $(ASAN_BUILD)/build.ninja ] || $(VENV)/bin/meson setup $(ASAN_BUILD) \
		-Dpython_module=false -Dunit_tests=enabled -Dsanitize=true \
		-Dbuildtype=debugoptimized
	rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	$(ASAN_UNIT_ENV) $(VENV)/bin/meson test -C $(ASAN_BUILD) --print-errorlogs
	@$(MAKE) --no-print-directory asan-logs-empty

# The extension built with -Dsanitize=true in its own venv; the interpreter
# (not instrumented) preloads the ASan runtime, and so does every child.
asan-pytest: $(ASAN_VENV)/.installed
	rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	LD_PRELOAD=$$(gcc -print-file-name=libasan.so) PYTHONMALLOC=malloc $(ASAN_PY_ENV) \
		$(ASAN_VENV)/bin/python -m pytest -q tests/python tests/security
	@$(MAKE) --no-print-directory asan-logs-empty

.PHONY: asan-logs-empty
asan-logs-empty:
	@if [ -n "$$(ls -A $(ASAN_LOGS))" ]; then \
		cat $(ASAN_LOGS)/*; echo "sanitizer reports in $(ASAN_LOGS)"; exit 1; \
	fi

$(ASAN_VENV)/.installed: $(VENV)/.tools $(SOURCES)
	[ -x $(ASAN_VENV)/bin/python ] || $(PYTHON) -m venv $(ASAN_VENV)
	$(ASAN_VENV)/bin/pip install -q --disable-pip-version-check $(PY_TOOLS)
	$(ASAN_VENV)/bin/pip install -q --disable-pip-version-check --no-build-isolation \
		--no-deps -Csetup-args=-Dsanitize=true -Cbuild-dir=$(abspath build/asan-py) .
	touch $@

# The plain unit build under memcheck. Cases that confine a process skip
# there only (tests/unit/valgrind_skip.h says why).
valgrind: unit
	$(VENV)/bin/meson test -C $(UNIT_BUILD) --print-errorlogs \
		--timeout-multiplier=5 --wrap='$(VALGRIND)'

fuzz-deps:
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(FUZZ_APT_PACKAGES)"

# Each target for FUZZ_SECONDS from its seed corpus (tests/fuzz/corpus),
# new inputs kept in build/fuzz/corpus; a crash leaves its input in
# build/fuzz/ and fails the run.
fuzz: fuzz-deps $(VENV)/.tools
	@[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang $(VENV)/bin/meson setup $(FUZZ_BUILD) \
		-Dpython_module=false -Dunit_tests=disabled -Dfuzz=enabled \
		-Dbuildtype=debugoptimized -Db_ndebug=false
	$(VENV)/bin/ninja -C $(FUZZ_BUILD)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
		echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
		$(FUZZ_BUILD)/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
			-max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/crash-$$t- \
			$(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t \
			> $(FUZZ_BUILD)/fuzz_$$t.log 2>&1 \
			|| { tail -40 $(FUZZ_BUILD)/fuzz_$$t.log; exit 1; }; \
		grep -E "^stat::(number_of_executed_units|average_exec_per_sec)|^#[0-9]+ +DONE" \
			$(FUZZ_BUILD)/fuzz_$$t.log; \
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
