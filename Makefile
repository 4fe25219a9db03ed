# The two commands of the README: `make report` builds the default deck, `make test` runs the tests.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.lmdeck-installed
NODE_STAMP := node_modules/.lmdeck-installed
CORES   ?= all
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
# The embedded default never needs a hub; keep it (and the tests) offline.
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1

.PHONY: setup system report test lint bench clean

setup: $(STAMP) $(NODE_STAMP) system

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: a range would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	# The SLURM executor plugin, without its declared pandas<3 (see pyproject.toml).
	$(PY) -m pip install -q --no-deps snakemake-executor-plugin-slurm==2.6.1
	touch $@

$(NODE_STAMP): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

system:
	scripts/setup-system.sh

report: setup
	snakemake --cores $(CORES) all export

test: setup
	$(PY) -m pytest -q -n 2 --dist loadfile

# The gates of .ci/run: Python lint and format, Snakefile format, Snakemake's own lint, the layers contract.
lint: setup
	$(VENV)/bin/ruff check src tests bench ci
	$(VENV)/bin/ruff format --check src tests bench ci
	$(VENV)/bin/snakefmt --check Snakefile rules
	$(PY) ci/check_workflow_lint.py
	$(VENV)/bin/lint-imports

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf results logs benchmarks .snakemake slides/*.md slides/*.html slides/*.pdf slides/*.png attachments/*/
