# Set-up and main jobs. `make demo` and `make test` work on a fresh Debian machine:
# they install the Debian packages (GHDL with its LLVM backend, Yosys, iverilog, dcm2niix, dcmtk,
# Orthanc, dicom3tools' dciodvfy), create .venv and install mrfrecon. The HDL tests run on GHDL's
# LLVM backend (compiled, several times faster than mcode) and simulate the synthesised netlists
# with iverilog.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := ghdl ghdl-llvm yosys iverilog dcm2niix dcmtk orthanc dicom3tools
export GHDL_BACKEND ?= llvm

.PHONY: all venv system demo test test-fast bench lint clean fuzz
.PHONY: system-packaging wheel test-packaging
# Debian packages the packaging tests use (systemd-analyze verify, logrotate --debug)
APT_PACKAGING := systemd logrotate

all: test

system:
	@missing=""; for p in ghdl ghdl-llvm yosys iverilog dcm2niix storescu dciodvfy; do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v Orthanc >/dev/null 2>&1 || test -x /usr/sbin/Orthanc || missing="$$missing Orthanc"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES); \
	fi

system-packaging:
	@missing=""; for p in systemd-analyze logrotate; do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages for:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGING); \
	fi

$(BIN)/mrfrecon: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "torch==2.13.0" || $(BIN)/python -m pip install -q "torch>=2.4,<=2.14.1"
	$(BIN)/python -m pip install -q -e ".[test]"
	@touch $@

venv: $(BIN)/mrfrecon

demo: system venv
	$(BIN)/mrfrecon demo

# MRFRECON_REQUIRE_TOOLS=1: tests that run an external validator (dciodvfy, dcm2niix,
# bids-validator-deno) fail instead of skipping when it is missing, so CI cannot skip silently
# The suite runs on PYTEST_WORKERS processes (pytest-xdist): each HDL simulation and each other
# test module is a work unit, longest first (order: tests/conftest.py); 0 runs in one process
PYTEST_WORKERS ?= 2
PYTEST_PAR := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder)
test: system system-packaging venv
	MRFRECON_REQUIRE_TOOLS=1 $(BIN)/python -m pytest -q $(PYTEST_PAR)

# the release wheel (carries the shipped sequences and hw sources) in dist/
wheel: venv
	rm -rf build dist/mrfrecon-*.whl
	$(BIN)/python -m pip wheel -q --no-deps --no-build-isolation . -w dist
	@ls dist/mrfrecon-*.whl

# wheel -> fresh venv -> demo and maps outside the clone; install.sh; systemd units
test-packaging: system-packaging venv
	$(BIN)/python -m pytest -q tests/packaging

test-fast: venv
	$(BIN)/python -m pytest -q -m "not slow and not hdl" $(PYTEST_PAR)

# hostile inputs: the fuzz tests with many examples per target (default run: a few)
FUZZ_EXAMPLES ?= 200
fuzz: venv
	MRFRECON_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q tests/cli/test_fuzz.py

bench: venv
	$(BIN)/python benchmarks/simulate.py

lint: venv
	$(BIN)/ruff check mrfrecon tests benchmarks
	$(BIN)/python -m mypy  # settings in pyproject.toml; tests/test_typing.py runs it in make test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache build *.egg-info
