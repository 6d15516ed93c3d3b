# mk/measure.mk - benchmarks, instruction counts, and comparing stages.
#
#   UNIT-bench       Go-style benchmark lines (bench/bench_hi.c)
#   UNIT-instr       instructions per request, counted by callgrind
#   UNIT-lesson      the stage's lesson, measured: 0 allocs/op where it
#                    expects that, and its instructions against the stage
#                    before (stages/stages.txt); part of UNIT-test
#   UNIT-load        the live server under wrk
#   UNIT-cpusplit    the live server under wrk: each CPU's utilisation, then
#                    a request's CPU split among the handler, civetweb, the
#                    kernel and wrk (bench/cpusplit.py)
#   UNIT-latency     the live server's p50 and p99 against the rate offered,
#                    open loop (h2load --rps), as a table and a PNG
#   visitcount       the BenchmarkVisitCount family side by side, p-values
#   benchcmp, instrcmp, compare, optcmp, pgo: stages side by side


UNIT_FILES += bench bench-uncounted instr/instr.json

BENCH_SOURCES := bench/bench_hi.c bench/bench.c $(HANDLER_SOURCES)
# What every benchmark binary links besides its allocation counter.
bench_objects = $(OUT)/$(1)/hi.o $(OUT)/$(1)/unit.o $(call objects,o2,$(BENCH_SOURCES))

# ============================ Benchmark binaries ==============================

# The benchmarks, counting allocations (bench/alloc_count.c).
$(OUT)/%/bench: $(call bench_objects,%) $(call objects,o2,bench/alloc_count.c) | deps-build deps-bench
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -o $@ $^ $(LIBS)

# The same on glibc's malloc, uncounted: what callgrind runs, since the
# counting would add instructions of its own to every allocation.
$(OUT)/%/bench-uncounted: $(call bench_objects,%) $(call objects,o2,bench/alloc_count_none.c) | deps-build deps-bench
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -o $@ $^ $(LIBS)

# An instruction count is exact for a given binary, environment and
# BENCH_QUERY: instr.py keeps it, keyed on all three, and counts again
# when one changed, so its rule runs every time (instr.txt is what
# UNIT-instr prints).
$(OUT)/%/instr/instr.json: $(OUT)/%/bench-uncounted bench/instr.py recheck | deps-bench
	@mkdir -p $(@D)
	@bench/instr.py run $< $(@D) >$(@D)/instr.txt || { cat $(@D)/instr.txt; exit 1; }

# ============================ Per unit ========================================

.PHONY: bench instr load latency cpusplit lesson bench-smoke
bench: $(call per_unit,bench)
%-bench: $(OUT)/%/bench
	@$(OUT)/$*/bench

instr: $(call per_unit,instr)
%-instr: $(OUT)/%/instr/instr.json
	@cat $(OUT)/$*/instr/instr.txt

load: $(call per_unit,load)
%-load: $(OUT)/%/server | deps-bench
	@bench/load.sh $(OUT)/$*/server

latency: $(call per_unit,latency)
%-latency: $(OUT)/%/server | deps-bench
	@$(call report_to,$(OUT)/$*/latency,bench/latency.py $< $(OUT)/$*/latency)

cpusplit: $(call per_unit,cpusplit)
%-cpusplit: $(OUT)/%/server $(OUT)/%/bench-uncounted | deps-bench
	@$(call report_to,$(OUT)/$*/cpusplit,bench/cpusplit.py $^ $(OUT)/$*/cpusplit)

# The lesson, measured. Deterministic, so it runs in every make test:
# BenchmarkHi must allocate nothing where the stage expects zero-alloc,
# and the instruction count must keep the stage's claim against the
# stage before (bench/instr.py says which claim broke, and why).
lesson: $(call per_unit,lesson)
# (mk/units.mk adds the count of the stage before: stage2's to stage3-lesson.)
%-lesson: $(OUT)/%/bench $(OUT)/%/instr/instr.json
	@echo "--- $(call unit_name,$*): the lesson of stage $(call unit_stage,$*), measured"
	$(if $(filter zero-alloc,$(call unit_expects,$*)),@BENCH='^BenchmarkHi$$' COUNT=1 BENCHTIME=20000x \
	  BENCH_ALLOCS_MAX=0 $(OUT)/$*/bench | grep -E '^(Benchmark|--- FAIL)')
	@bench/instr.py lesson $(or $(call unit_from,$*),-) "$(call unit_name,$*)" \
	  $(OUT)/$*/instr $(if $(call unit_from,$*),$(OUT)/stage$(call unit_from,$*)/instr)

# Every benchmark briefly, so the harness cannot rot, and compare.py must
# read the JSON it writes: one result line per benchmark the binary lists
# (BENCH_LIST=1). Part of the full make test.
bench-smoke: $(addsuffix -bench-smoke,$(or $(SELECTED),$(STAGE_UNITS)))
%-bench-smoke: $(OUT)/%/bench | deps-bench
	@echo "--- $(call unit_name,$*): every benchmark for 200 iterations"
	@BENCH= COUNT=1 BENCHTIME=200x BENCH_JSON=$(OUT)/$*/smoke.json $(OUT)/$*/bench >$(OUT)/$*/smoke.txt \
	  || { cat $(OUT)/$*/smoke.txt; exit 1; }
	@listed=$$(BENCH= BENCH_LIST=1 $(OUT)/$*/bench | grep -c '^Benchmark'); \
	  [ "$$(grep -c '^Benchmark' $(OUT)/$*/smoke.txt)" = "$$listed" ] \
	  || { cat $(OUT)/$*/smoke.txt; echo "FAIL: expected $$listed benchmark lines, one per benchmark BENCH_LIST=1 names"; exit 1; }
	@/usr/bin/python3 /usr/share/benchmark/compare.py --no-color benchmarks \
	  $(OUT)/$*/smoke.json $(OUT)/$*/smoke.json >/dev/null \
	  || { echo "FAIL: compare.py cannot read $(OUT)/$*/smoke.json"; exit 1; }

SMOKE_RUNS += $(addsuffix -bench-smoke,$(STAGE_UNITS))

# benchstat's statistics (bench/benchstats.py) against scipy's exact
# p-values and the textbook intervals.
.PHONY: benchstats-test
benchstats-test: | deps-bench
	@echo "--- benchstats.py: the U test, the median's and the shift's intervals, against known answers"
	@bench/test_benchstats.py

SMOKE_RUNS += benchstats-test
TEST_BUILD_FILES += bench bench-uncounted

# ============================ Stages side by side =============================

.PHONY: benchcmp instrcmp compare
# OLD and NEW name a unit each: a stage's number (1 to 6), work or
# challenge. $(call unit_named,1) is stage1; $(call unit_label,1) "stage 1".
unit_named = $(if $(filter $(ALL_STAGES),$(1)),stage$(1),$(filter work challenge,$(1)))
unit_label = $(if $(filter $(ALL_STAGES),$(1)),stage $(1),$(1))
OLD_UNIT = $(call unit_named,$(OLD))
NEW_UNIT = $(call unit_named,$(NEW))
COMPARING := benchcmp instrcmp webdiff flamediff
ifneq ($(filter $(COMPARING),$(MAKECMDGOALS)),)
  ifneq ($(words $(call unit_named,$(OLD))) $(words $(call unit_named,$(NEW))),1 1)
    $(error usage: make $(firstword $(filter $(COMPARING),$(MAKECMDGOALS))) OLD=1 NEW=2\
      (OLD=$(OLD) NEW=$(NEW)? each a stage, $(ALL_STAGES); or work, or challenge))
  endif
endif

# benchcmp: both units COUNT=10 times, in a random order every round.
benchcmp: $(OUT)/$(OLD_UNIT)/bench $(OUT)/$(NEW_UNIT)/bench | deps-bench
	@bench/benchtool.py benchcmp $(OUT)/benchcmp/$(OLD_UNIT)-vs-$(NEW_UNIT) \
	  "$(call unit_label,$(OLD))=$(OUT)/$(OLD_UNIT)/bench" "$(call unit_label,$(NEW))=$(OUT)/$(NEW_UNIT)/bench"

instrcmp: $(OUT)/$(OLD_UNIT)/instr/instr.json $(OUT)/$(NEW_UNIT)/instr/instr.json
	@bench/instr.py cmp $(OUT)/$(OLD_UNIT)/instr $(OUT)/$(NEW_UNIT)/instr

# compare: every stage into out/compare/ (table, JSON and chart).
compare: $(foreach unit,$(STAGE_UNITS),$(OUT)/$(unit)/bench $(OUT)/$(unit)/server \
                                        $(OUT)/$(unit)/instr/instr.json) | deps-bench
	@bench/benchtool.py compare $(OUT)/compare $(addprefix $(OUT)/,$(STAGE_UNITS))

# visitcount: ways of counting visitors from every CPU, COUNT=10 runs:
# each against the stages' own (atomic_fetch_add, alone on its lines),
# and the per-thread counters packed into one line against padded.
VISITCOUNT_PAIRS := $(addprefix BenchmarkVisitCountAtomic:BenchmarkVisitCount,Relaxed PerThread Mutex) \
  BenchmarkVisitCountPerThread:BenchmarkVisitCountPacked
.PHONY: visitcount
visitcount: $(OUT)/stage$(LAST_STAGE)/bench | deps-bench
	@bench/benchtool.py variants $(OUT)/visitcount $< $(VISITCOUNT_PAIRS)

# ============================ The compiler as a tool ==========================

# UNIT-optcmp: the unit built with OPTIMIZE (say "-O3 -flto") against the
# default -O2, in time (benchstat's table) and in instructions.
# Both are checked as make reads this file, before anything is built.
ifneq ($(filter optcmp %-optcmp,$(MAKECMDGOALS)),)
ifeq ($(OPTIMIZE),$(DEFAULT_OPTIMIZE))
$(error usage: make stageN optcmp OPTIMIZE="-O3 -flto" (flags to hold against the default $(DEFAULT_OPTIMIZE)))
endif
endif
ifneq ($(filter pgo %-pgo,$(MAKECMDGOALS)),)
ifneq ($(findstring __clang__,$(shell $(CC) -dM -E - </dev/null 2>/dev/null)),)
$(error pgo drives gcc's -fprofile-generate and -fprofile-use; CC=$(CC) is clang, whose PGO needs llvm-profdata: run it with CC=gcc)
endif
endif

.PHONY: optcmp pgo
optcmp: $(call per_unit,optcmp)
%-optcmp: $(OUT)/%/bench $(OUT)/%/instr/instr.json | deps-bench
	@$(MAKE) --no-print-directory OPTIMIZE=$(DEFAULT_OPTIMIZE) out/$*/bench out/$*/instr/instr.json
	@echo "=== $(call unit_name,$*): $(DEFAULT_OPTIMIZE) (old) against $(OPTIMIZE) (new)"
	@bench/instr.py totals "$(DEFAULT_OPTIMIZE)=out/$*/instr" "$(OPTIMIZE)=$(OUT)/$*/instr"
	@bench/benchtool.py benchcmp $(OUT)/$*/optcmp "$(DEFAULT_OPTIMIZE)=out/$*/bench" "$(OPTIMIZE)=$(OUT)/$*/bench"

# UNIT-pgo: gcc's profile-guided optimization, trained on the
# benchmarks, against the usual build (mk/pgo.sh says how).
pgo: $(call per_unit,pgo)
%-pgo: $(OUT)/%/bench $(OUT)/%/bench-uncounted $(OUT)/%/instr/instr.json | deps-bench
	@CC="$(CC)" CFLAGS="$(CFLAGS_COMMON) $(OPTIMIZE)" LIBS="$(LIBS)" \
	  OLD_LABEL="$(OPTIMIZE)" OLD_BENCH=$(OUT)/$*/bench OLD_INSTR=$(OUT)/$*/instr \
	  OLD_UNCOUNTED=$(OUT)/$*/bench-uncounted \
	  mk/pgo.sh $(OUT)/$*/pgo "$(call unit_name,$*)" $(call unit_source,$*) $(BENCH_SOURCES) tests/unit.c
