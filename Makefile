# The two commands a fresh Debian machine needs (see README.md):
#   make demo   installs everything and runs abiguard's main job on Debian's real qemu + Xen
#   make test   installs everything, type-checks src/ (mypy, strict: [tool.mypy] in
#               pyproject.toml), then runs the test suite with an EMPTY cache directory
#               (ABIGUARD_CACHE set to a fresh temporary directory, removed afterwards), as a
#               fresh machine would; TEST_CACHE=DIR runs it with that cache instead
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= demo-output
TEST_CACHE ?=

.PHONY: setup demo test typecheck lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/setup-debian.sh
	sh scripts/setup-debian.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[where,census,test]'
	touch $@

demo: setup
	mkdir -p $(OUT)
	$(BIN)/abiguard scan --with-deps qemu-system-xen
	$(BIN)/abiguard plan --with-deps qemu-system-xen
	$(BIN)/abiguard scan -q --with-deps --format json --output $(OUT)/qemu-scan.json qemu-system-xen
	$(BIN)/abiguard plan -q --with-deps --format markdown --output $(OUT)/qemu-plan.md qemu-system-xen

test: typecheck
	@cache="$(TEST_CACHE)"; fresh=; \
	if [ -z "$$cache" ]; then cache=$$(mktemp -d -t abiguard-test-cache.XXXXXX); fresh=1; fi; \
	echo "make test: ABIGUARD_CACHE=$$cache$${fresh:+ (empty)}"; \
	ABIGUARD_CACHE="$$cache" $(BIN)/pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ -n "$$fresh" ]; then rm -rf "$$cache"; fi; exit $$rc

typecheck: setup
	$(BIN)/mypy

lint: setup
	$(BIN)/ruff check src tests benchmarks

bench: setup
	$(BIN)/python benchmarks/bench_elf.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache
