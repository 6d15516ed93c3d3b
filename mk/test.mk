# mk/test.mk - make test: every unit's suite and measurement, then the
# smoke runs the other mk/ files listed in SMOKE_RUNS, then the count.
# Included last, so that every list is complete when these rules read it.

# The full `make test` adds the smoke runs of the other areas;
# `make stageN test` stays about stage N.
TESTED_UNITS := $(or $(SELECTED),$(STAGE_UNITS) challenge-given challenge-solved)
TESTED_SMOKE_RUNS := $(if $(SELECTED),,$(SMOKE_RUNS))
TESTED_SMOKE_BINARIES := $(if $(SELECTED),,$(SMOKE_BINARIES))

# The compiles come first, on every CPU at once: they are independent,
# and the tests that follow run one at a time. One line says so, not one
# per file (V=1: every command).
TEST_BUILD_TARGETS = $(foreach unit,$(TESTED_UNITS),$(addprefix $(OUT)/$(unit)/,$(TEST_BUILD_FILES))) \
	$(TESTED_SMOKE_BINARIES)
# The closing line says how many were made anew, so that an edit of
# work/hi.c is seen to be compiled.
.PHONY: test-build
test-build: $(if $(SELECTED),deps-build deps-test deps-bench,deps)
	@mkdir -p $(OUT) && touch $(OUT)/build-started
	@$(MAKE) --no-print-directory $(if $(filter 1,$(V)),,-s) -j$(shell nproc) BUILD_IN_PARALLEL=1 QUIET_BUILD=$(if $(filter 1,$(V)),,1) \
	  $(TEST_BUILD_TARGETS)
	@echo "build: $(words $(TEST_BUILD_TARGETS)) binaries up to date," \
	  "$$(find $(TEST_BUILD_TARGETS) -newer $(OUT)/build-started 2>/dev/null | wc -l) of them made just now" \
	  "(V=1 shows each compile)"

# The closing count (mk/test-summary.sh), like go test's PASS and ok: the
# checks of each suite, a pass per lesson and per smoke run, and what
# could not run here, with why.
test: test-build $(addsuffix -test,$(TESTED_UNITS)) $(TESTED_SMOKE_RUNS)
	@mk/test-summary.sh $(OUT) "$(TESTED_UNITS)" "$(TESTED_SMOKE_RUNS)"
