# The two commands: `make run` and `make test`. Both create .venv when needed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= all
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test setup lint unit report clean bench

setup: $(STAMP)

# pip installs torch, so that it takes the build pip's configuration points at (the CPU build
# these machines keep on disk; PyPI's CUDA build elsewhere). uv installs the rest of the lock
# beside it (--no-deps: the lock is the whole closure), downloading and compiling in parallel;
# then uv checks the environment against the whole lock (installing whatever torch's build needs
# that the lock lacks, e.g. CUDA's libraries) and installs the package. Side by side, pip's torch
# and uv's rest took 35-51 s against 52-76 s one after the other (fresh clones, 2 cores).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c requirements.lock uv
	grep -v '^torch==' requirements.lock > $(VENV)/lock-without-torch.txt
	$(BIN)/python -m pip install --quiet --no-deps -c requirements.lock torch & pip=$$!; \
	UV_LINK_MODE=copy $(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode \
		--no-deps -r $(VENV)/lock-without-torch.txt; uv=$$?; \
	wait $$pip && test $$uv -eq 0
	UV_LINK_MODE=copy $(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode \
		-r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --configfile config/config.yaml
	$(BIN)/snakemake --cores 1 --configfile config/config.yaml --report results/report.html

report: $(STAMP)
	$(BIN)/snakemake --cores 1 --configfile config/config.yaml --report results/report.html

# Style, import layering (pyproject [tool.importlinter]), types (pyproject [tool.mypy]), workflow.
lint: $(STAMP)
	$(BIN)/ruff check src tests bench $(wildcard scripts/*.py)
	$(BIN)/ruff format --check src tests bench $(wildcard scripts/*.py)
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/snakemake --lint --configfile config/config.yaml

# pytest-xdist workers: one per core plus one, since some tests mostly wait (the SLURM run polls
# squeue, DAG runs start subprocesses) and the extra worker fills those waits; a file's tests on
# one worker (its module fixtures are built once), files in collection order, which starts the
# long modules first (tests/conftest.py: LONG_MODULES); the workers share one run of the tiny DAG.
# TEST_WORKERS=0 runs every test in this process.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
unit: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# lint runs beside the tests (make -j2, output whole lines): mypy, its longest step, uses one
# core, so run first it left the other idle for most of a minute. Both must pass.
test: $(STAMP)
	$(MAKE) --no-print-directory -j2 --output-sync=line lint unit

# Every benchmark at small sizes, one JSON (bench/suite.py); BENCH_ARGS passes options through,
# e.g. make bench BENCH_ARGS='--only ism --args ism="--regions 6 --peer tangermeme"'.
bench: $(STAMP)
	$(BIN)/python bench/suite.py $(BENCH_ARGS)

clean:
	rm -rf results .snakemake logs benchmarks
