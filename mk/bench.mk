# ============================ Benchmarks ======================================
PACKAGES += libbenchmark-tools python3-scipy wrk gnuplot-nox
export BENCH BENCHTIME COUNT

BENCH_SOURCES := tests/bench_hi.c common/bench.c $(HANDLER_SOURCES)

define BENCH_RULES
$(OUT)/stage$(1)/bench: $(call stage_dir,$(1))/hi.c $(BENCH_SOURCES) common/alloc_count.c $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -DSTAGE_NAME='"stage$(1) ($(notdir $(call stage_dir,$(1))))"' \
	  -o $$@ $$(filter %.c,$$^) $(LIBS)

.PHONY: bench-$(1)
bench-$(1): $(OUT)/stage$(1)/bench
	@$(OUT)/stage$(1)/bench
endef
$(foreach n,$(ALL_STAGES),$(eval $(call BENCH_RULES,$(n))))

.PHONY: bench
bench: $(addprefix bench-,$(or $(SELECTED),1))

# benchcmp OLD=a NEW=b: both stages' benchmarks, alternating, with p-values.
.PHONY: benchcmp compare load
ifneq ($(filter benchcmp,$(MAKECMDGOALS)),)
  ifneq ($(words $(filter $(ALL_STAGES),$(OLD))) $(words $(filter $(ALL_STAGES),$(NEW))),1 1)
    $(error usage: make benchcmp OLD=1 NEW=2 (stage numbers from 1 to 5))
  endif
endif
benchcmp: $(OUT)/stage$(OLD)/bench $(OUT)/stage$(NEW)/bench
	@tests/benchtool.py benchcmp $(OUT)/stage$(OLD)/bench $(OUT)/stage$(NEW)/bench \
	  $(OUT)/benchcmp/stage$(OLD)-vs-stage$(NEW)

# compare: every stage, side by side, into out/compare/ (table and chart).
compare: $(foreach n,$(ALL_STAGES),$(OUT)/stage$(n)/bench $(OUT)/stage$(n)/server)
	@tests/benchtool.py compare $(OUT)/compare $(foreach n,$(ALL_STAGES),$(OUT)/stage$(n))

define LOAD_RULES
.PHONY: load-$(1)
load-$(1): $(OUT)/stage$(1)/server
	@tests/load.sh $(OUT)/stage$(1)/server
endef
$(foreach n,$(ALL_STAGES),$(eval $(call LOAD_RULES,$(n))))
load: $(addprefix load-,$(or $(SELECTED),1))

# The smoke run inside `make test`: every benchmark briefly, so the harness
# cannot rot; compare.py must read its JSON; and from stage 4 on,
# BenchmarkHi must make no allocation at all.
define BENCH_SMOKE_RULES
.PHONY: bench-smoke-$(1)
bench-smoke-$(1): $(OUT)/stage$(1)/bench
	@echo "--- stage $(1): benchmark smoke run (BENCHTIME=200x)"
	@BENCH= COUNT=1 BENCHTIME=200x BENCH_JSON=$(OUT)/stage$(1)/smoke.json $(OUT)/stage$(1)/bench >$(OUT)/stage$(1)/smoke.txt \
	  || { cat $(OUT)/stage$(1)/smoke.txt; exit 1; }
	@[ "$$$$(grep -c '^Benchmark' $(OUT)/stage$(1)/smoke.txt)" = 5 ] \
	  || { cat $(OUT)/stage$(1)/smoke.txt; echo "FAIL: expected 5 benchmark lines"; exit 1; }
	@/usr/bin/python3 /usr/share/benchmark/compare.py --no-color benchmarks \
	  $(OUT)/stage$(1)/smoke.json $(OUT)/stage$(1)/smoke.json >/dev/null \
	  || { echo "FAIL: compare.py cannot read $(OUT)/stage$(1)/smoke.json"; exit 1; }
	$(if $(filter 4 5,$(1)),@BENCH='^BenchmarkHi$$$$' COUNT=1 BENCHTIME=20000x BENCH_ALLOCS_MAX=0 \
	  $(OUT)/stage$(1)/bench | grep -E '^(Benchmark|--- FAIL)')
endef
$(foreach n,$(ALL_STAGES),$(eval $(call BENCH_SMOKE_RULES,$(n))))
$(foreach n,$(ALL_STAGES),$(eval test-$(n): bench-smoke-$(n)))
