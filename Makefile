# Profiling & Optimizing in C - the one Makefile.
#
#   make run                 stage 1's server on 127.0.0.1:8080
#   make test                every shared test against every stage
#   make stage3 test         the same for one stage (also race, run, ...)
#   make help                every target
#
# Everything built or measured goes under out/ (ignored by git).

SHELL := /bin/bash
# A recipe line like `tests | tail -n 1` fails when the tests do, not only
# when tail does.
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
.SUFFIXES:

# ============================ Stages ==========================================

STAGE_DIRS := stages/01-naive stages/02-compile-once stages/03-atomic-counter \
              stages/04-zero-alloc stages/05-regex-pool
ALL_STAGES := 1 2 3 4 5

# `make stage3 test` selects stage 3; without a stageN goal, the targets
# that make sense for all stages (test) use all of them and the others
# (run, race, ...) use stage 1.
STAGE_GOALS := $(filter $(addprefix stage,$(ALL_STAGES)),$(MAKECMDGOALS))
SELECTED := $(patsubst stage%,%,$(STAGE_GOALS))
ONE_STAGE := $(or $(firstword $(SELECTED)),1)
OTHER_GOALS := $(filter-out $(STAGE_GOALS),$(MAKECMDGOALS))

# stage_dir N -> stages/0N-name
stage_dir = $(word $(1),$(STAGE_DIRS))

# ============================ Toolchain =======================================

CC ?= cc
OUT := out
PORT ?= 8080

# -O2 with frame pointers and -g: fast code whose profiles still show
# readable call stacks.
WARNINGS := -Wall -Wextra -Werror
CFLAGS_COMMON := -std=c11 -D_POSIX_C_SOURCE=200809L $(WARNINGS) -g \
                 -fno-omit-frame-pointer -pthread -Icommon -Itests
OPTIMIZE := -O2
TSAN_FLAGS := -O1 -fsanitize=thread
LIBS := -lcivetweb -lpcre2-8 -pthread
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

# Binaries depend on this file, which changes whenever the compiler or
# flags do, so `CC=clang make test` after a gcc build rebuilds everything.
COMPILER_STAMP := $(OUT)/compiler.txt
COMPILER_ID := $(CC) $(CFLAGS_COMMON) $(OPTIMIZE) $(TSAN_FLAGS) $(LIBS)
$(shell mkdir -p $(OUT) && { echo '$(COMPILER_ID)' | cmp -s - $(COMPILER_STAMP) \
          || echo '$(COMPILER_ID)' > $(COMPILER_STAMP); })

COMMON_HEADERS := $(wildcard common/*.h) $(wildcard tests/*.h) $(COMPILER_STAMP)
SERVER_SOURCES := common/server.c common/civet_writer.c common/router.c \
                  common/query.c common/response.c common/recorder.c
HANDLER_SOURCES := common/router.c common/query.c common/response.c common/recorder.c
TEST_SOURCES := tests/check_hi.c tests/http_client.c tests/server_process.c \
                tests/visitors.c tests/robust.c
RACE_SOURCES := tests/race.c tests/visitors.c tests/http_client.c tests/server_process.c

# ============================ Debian packages =================================

# What `make deps` installs. Every target that needs a package depends on
# deps, so a fresh Debian 12 or Ubuntu machine needs no manual set-up.
PACKAGES := gcc clang make pkg-config libc6-dev \
            libcivetweb-dev libpcre2-dev check

# Installed where this system's package lists have them, else skipped once
# with a note (out/deps-skipped.txt remembers it): Ubuntu ships Chromium
# only as a snap, and older releases keep clang's sanitizer runtime inside
# libclang-common-N-dev. What needs a skipped package says so when run.
OPTIONAL_PACKAGES := libclang-rt-dev
DEPS_SKIPPED := $(OUT)/deps-skipped.txt

# COMMAND:PACKAGE pairs installed only when the command is missing: node
# and npm may come from elsewhere (NodeSource), and Debian's npm package
# would then conflict.
COMMAND_PACKAGES :=

.PHONY: deps
deps:
	@installed() { [ "$$(dpkg-query -W -f='$${db:Status-Status}' "$$1" 2>/dev/null)" = installed ]; }; \
	missing=""; optional=""; \
	for package in $(PACKAGES); do \
	  installed "$$package" || missing="$$missing $$package"; \
	done; \
	for pair in $(COMMAND_PACKAGES); do \
	  command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	for package in $(OPTIONAL_PACKAGES); do \
	  installed "$$package" || grep -qx "$$package" $(DEPS_SKIPPED) 2>/dev/null \
	    || optional="$$optional $$package"; \
	done; \
	[ -z "$$missing$$optional" ] && exit 0; \
	mkdir -p $(OUT); \
	skip_optional() { \
	  printf '%s\n' $$optional >>$(DEPS_SKIPPED); \
	  echo "deps: not installed:$$optional ($$1); what needs them will say SKIPPED"; }; \
	if ! command -v apt-get >/dev/null; then \
	  [ -z "$$missing" ] && { skip_optional "no apt-get here"; exit 0; }; \
	  echo "deps: this needs Debian or Ubuntu (apt-get). Missing packages:$$missing$$optional" >&2; exit 1; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null; then sudo="sudo"; \
	elif [ -z "$$missing" ]; then skip_optional "as root: apt-get install -y$$optional"; exit 0; \
	else echo "deps: missing packages. As root, run: apt-get install -y$$missing$$optional" >&2; exit 1; fi; \
	echo "deps: updating the package lists (log: $(OUT)/apt.log)"; \
	$$sudo apt-get update >$(OUT)/apt.log 2>&1 || { \
	  tail -n 5 $(OUT)/apt.log >&2; echo "deps: apt-get update failed. Run: sudo apt-get update" >&2; exit 1; }; \
	for package in $$optional; do \
	  candidate=$$(apt-cache policy "$$package" 2>/dev/null | sed -n 's/^ *Candidate: //p'); \
	  if [ -n "$$candidate" ] && [ "$$candidate" != "(none)" ]; then \
	    missing="$$missing $$package"; \
	  else \
	    echo "$$package" >>$(DEPS_SKIPPED); \
	    echo "deps: $$package is not in this system's package lists: skipped"; \
	  fi; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	echo "deps: installing$$missing"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing \
	  >>$(OUT)/apt.log 2>&1 || { \
	  tail -n 5 $(OUT)/apt.log >&2; \
	  echo "deps: apt-get failed. Run: sudo apt-get install -y$$missing" >&2; exit 1; }

# ============================ Per-stage builds ================================

# STAGE_RULES N: the binaries of stage N, all under out/stageN/.
#   server       the HTTP server                      (make stageN run)
#   server-tsan  the server under ThreadSanitizer     (the race tests)
#   race         tests/race.c under ThreadSanitizer   (make stageN race)
#   tests        the shared Check suite               (make stageN test)
define STAGE_RULES
$(OUT)/stage$(1)/server: $(call stage_dir,$(1))/hi.c $(SERVER_SOURCES) $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -o $$@ $$(filter %.c,$$^) $(LIBS)

$(OUT)/stage$(1)/server-tsan: $(call stage_dir,$(1))/hi.c $(SERVER_SOURCES) $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$$(CC) $(CFLAGS_COMMON) $(TSAN_FLAGS) -o $$@ $$(filter %.c,$$^) $(LIBS)

$(OUT)/stage$(1)/race: $(call stage_dir,$(1))/hi.c $(RACE_SOURCES) $(HANDLER_SOURCES) $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$$(CC) $(CFLAGS_COMMON) $(TSAN_FLAGS) -o $$@ $$(filter %.c,$$^) $(LIBS)

$(OUT)/stage$(1)/race-plain: $(call stage_dir,$(1))/hi.c $(RACE_SOURCES) $(HANDLER_SOURCES) $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -o $$@ $$(filter %.c,$$^) $(LIBS)

$(OUT)/stage$(1)/tests: $(call stage_dir,$(1))/hi.c $(TEST_SOURCES) $(HANDLER_SOURCES) $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -DSTAGE=$(1) -o $$@ $$(filter %.c,$$^) $(LIBS) $$(CHECK_LIBS)

.PHONY: build-$(1) test-$(1) race-$(1) run-$(1)
build-$(1): $(OUT)/stage$(1)/server

test-$(1): $(OUT)/stage$(1)/tests $(OUT)/stage$(1)/server $(OUT)/stage$(1)/server-tsan $(OUT)/stage$(1)/race $(OUT)/stage$(1)/race-plain
	@echo "=== stage $(1): $(notdir $(call stage_dir,$(1))) ==="
	@mkdir -p $(OUT)/stage$(1)/tmp
	@HI_SERVER=$(OUT)/stage$(1)/server HI_SERVER_TSAN=$(OUT)/stage$(1)/server-tsan \
	  HI_RACE=$(OUT)/stage$(1)/race HI_RACE_PLAIN=$(OUT)/stage$(1)/race-plain \
	  TMPDIR=$(OUT)/stage$(1)/tmp $(OUT)/stage$(1)/tests | tee $(OUT)/stage$(1)/checks.txt

# race-N: ThreadSanitizer's verdict, and where it finds a race, the harm
# the race does in a build without it (tests/race.c explains both).
race-$(1): $(OUT)/stage$(1)/race $(OUT)/stage$(1)/race-plain
	@echo "=== stage $(1) under ThreadSanitizer: 4 threads call the handler at once ==="
	@status=0; $(OUT)/stage$(1)/race || status=$$$$?; \
	case $$$$status in \
	0) echo "PASS: no data race in stage $(1)";; \
	66) echo "FAIL: stage $(1): ThreadSanitizer reported a data race (exit status 66)"; \
	    echo "--- the harm it does: the same test built without ThreadSanitizer, repeated for up to 20 s"; \
	    $(OUT)/stage$(1)/race-plain --until-wrong 20 || true; exit 1;; \
	1) echo "FAIL: stage $(1): visitor numbers were wrong (exit status 1)"; exit 1;; \
	*) echo "FAIL: stage $(1): the race test could not run (exit status $$$$status)"; exit 1;; \
	esac

run-$(1): $(OUT)/stage$(1)/server
	@PORT=$(PORT) $(OUT)/stage$(1)/server
endef
$(foreach n,$(ALL_STAGES),$(eval $(call STAGE_RULES,$(n))))

# ============================ Benchmarks ======================================
PACKAGES += libbenchmark-tools python3-scipy wrk gnuplot-nox valgrind
export BENCH BENCHTIME COUNT

BENCH_SOURCES := tests/bench_hi.c common/bench.c $(HANDLER_SOURCES)

define BENCH_RULES
$(OUT)/stage$(1)/bench: $(call stage_dir,$(1))/hi.c $(BENCH_SOURCES) common/alloc_count.c $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -DSTAGE_NAME='"stage$(1) ($(notdir $(call stage_dir,$(1))))"' \
	  -o $$@ $$(filter %.c,$$^) $(LIBS)

# The same benchmarks on glibc's malloc, uncounted: what callgrind runs,
# since counting would add its own instructions to every allocation.
$(OUT)/stage$(1)/bench-plain: $(call stage_dir,$(1))/hi.c $(BENCH_SOURCES) common/alloc_count_none.c $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -DSTAGE_NAME='"stage$(1) ($(notdir $(call stage_dir,$(1))))"' \
	  -o $$@ $$(filter %.c,$$^) $(LIBS)

.PHONY: bench-$(1) instr-$(1)
bench-$(1): $(OUT)/stage$(1)/bench
	@$(OUT)/stage$(1)/bench

# The count is exact for a given binary, so it is taken once per build
# and the report kept; make stageN instr prints it.
$(OUT)/stage$(1)/instr/instr.json: $(OUT)/stage$(1)/bench-plain tests/instr.py
	@mkdir -p $$(@D)
	@tests/instr.py run $$< $$(@D) >$$(@D)/instr.txt || { cat $$(@D)/instr.txt; exit 1; }

instr-$(1): $(OUT)/stage$(1)/instr/instr.json
	@cat $(OUT)/stage$(1)/instr/instr.txt
endef
$(foreach n,$(ALL_STAGES),$(eval $(call BENCH_RULES,$(n))))

.PHONY: bench instr instrcmp instr-check
bench: $(addprefix bench-,$(or $(SELECTED),1))
instr: $(addprefix instr-,$(or $(SELECTED),1))

# instrcmp OLD=a NEW=b: instructions per request, function by function.
ifneq ($(filter instrcmp,$(MAKECMDGOALS)),)
  ifneq ($(words $(filter $(ALL_STAGES),$(OLD))) $(words $(filter $(ALL_STAGES),$(NEW))),1 1)
    $(error usage: make instrcmp OLD=1 NEW=2 (stage numbers from $(firstword $(ALL_STAGES)) to $(lastword $(ALL_STAGES))))
  endif
endif
instrcmp: $(OUT)/stage$(OLD)/instr/instr.json $(OUT)/stage$(NEW)/instr/instr.json
	@tests/instr.py cmp $(OUT)/stage$(OLD)/instr $(OUT)/stage$(NEW)/instr

# The lessons of stages/stages.txt as instruction counts, inside make test.
instr-check: $(foreach n,$(ALL_STAGES),$(OUT)/stage$(n)/instr/instr.json)
	@echo "--- instructions per request: the lessons of stages/stages.txt"
	@tests/instr.py check stages/stages.txt $(foreach n,$(ALL_STAGES),$(OUT)/stage$(n)/instr)

TEST_EXTRAS += instr-check

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
compare: $(foreach n,$(ALL_STAGES),$(OUT)/stage$(n)/bench $(OUT)/stage$(n)/server $(OUT)/stage$(n)/instr/instr.json)
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
	@echo "--- stage $(1): every benchmark for 200 iterations$(if $(filter 4 5,$(1)),; BenchmarkHi for 20000 with no allocation allowed)"
	@BENCH= COUNT=1 BENCHTIME=200x BENCH_JSON=$(OUT)/stage$(1)/smoke.json $(OUT)/stage$(1)/bench >$(OUT)/stage$(1)/smoke.txt \
	  || { cat $(OUT)/stage$(1)/smoke.txt; exit 1; }
	@[ "$$$$(grep -c '^Benchmark' $(OUT)/stage$(1)/smoke.txt)" = 6 ] \
	  || { cat $(OUT)/stage$(1)/smoke.txt; echo "FAIL: expected 6 benchmark lines"; exit 1; }
	@/usr/bin/python3 /usr/share/benchmark/compare.py --no-color benchmarks \
	  $(OUT)/stage$(1)/smoke.json $(OUT)/stage$(1)/smoke.json >/dev/null \
	  || { echo "FAIL: compare.py cannot read $(OUT)/stage$(1)/smoke.json"; exit 1; }
	$(if $(filter 4 5,$(1)),@BENCH='^BenchmarkHi$$$$' COUNT=1 BENCHTIME=20000x BENCH_ALLOCS_MAX=0 \
	  $(OUT)/stage$(1)/bench | grep -E '^(Benchmark|--- FAIL)')
endef
$(foreach n,$(ALL_STAGES),$(eval $(call BENCH_SMOKE_RULES,$(n))))
$(foreach n,$(ALL_STAGES),$(eval test-$(n): bench-smoke-$(n)))

.PHONY: bench-smoke
bench-smoke: $(addprefix bench-smoke-,$(or $(SELECTED),$(ALL_STAGES)))

# ============================ Profiles ========================================
PACKAGES += google-perftools libgoogle-perftools-dev graphviz gcovr file

PROFILE_OUT := profiles/out
PROFILER_LIBS := -Wl,--no-as-needed -lprofiler -Wl,--as-needed
CONTENTION_LIB := $(OUT)/profiles/libcontention.so

$(CONTENTION_LIB): profiles/contention.c $(COMPILER_STAMP) | deps
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARNINGS) -O2 -g -fno-omit-frame-pointer -fPIC -shared -o $@ $< -ldl

# PROFILE_RULES N: profiling builds of stage N and the targets using them.
#   bench-cpu    the benchmarks with gperftools' CPU profiler linked in
#   bench-heap   the benchmarks on tcmalloc, whose heap profiler records
#                every allocation (so they cannot count allocations too)
#   server-cpu   the server with the CPU profiler
define PROFILE_RULES
$(OUT)/stage$(1)/bench-cpu: $(call stage_dir,$(1))/hi.c $(BENCH_SOURCES) common/alloc_count_none.c $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -DSTAGE_NAME='"stage$(1)"' -o $$@ $$(filter %.c,$$^) $(LIBS) $(PROFILER_LIBS)

$(OUT)/stage$(1)/bench-heap: $(call stage_dir,$(1))/hi.c $(BENCH_SOURCES) common/alloc_count_none.c $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -DSTAGE_NAME='"stage$(1)"' -o $$@ $$(filter %.c,$$^) $(LIBS) \
	  -Wl,--no-as-needed -ltcmalloc -Wl,--as-needed

$(OUT)/stage$(1)/server-cpu: $(call stage_dir,$(1))/hi.c $(SERVER_SOURCES) $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -o $$@ $$(filter %.c,$$^) $(LIBS) $(PROFILER_LIBS)

.PHONY: profile-$(1) memprofile-$(1) blockprofile-$(1) blockprofile-check-$(1) profile-server-$(1)
profile-$(1): $(OUT)/stage$(1)/bench-cpu
	@profiles/profile.sh cpu $(OUT)/stage$(1)/bench-cpu $(PROFILE_OUT)/stage$(1)

memprofile-$(1): $(OUT)/stage$(1)/bench-heap
	@profiles/profile.sh mem $(OUT)/stage$(1)/bench-heap $(PROFILE_OUT)/stage$(1)

blockprofile-$(1): $(OUT)/stage$(1)/bench-cpu $(CONTENTION_LIB)
	@CONTENTION_LIB=$(CONTENTION_LIB) profiles/profile.sh block $(OUT)/stage$(1)/bench-cpu $(PROFILE_OUT)/stage$(1)

blockprofile-check-$(1): $(OUT)/stage$(1)/bench-cpu $(CONTENTION_LIB)
	@profiles/block_check.sh $(OUT)/stage$(1)/bench-cpu $(CONTENTION_LIB) $(OUT)/stage$(1)/block-check

profile-server-$(1): $(OUT)/stage$(1)/server-cpu
	@profiles/profile.sh server $(OUT)/stage$(1)/server-cpu $(PROFILE_OUT)/stage$(1)
endef
$(foreach n,$(ALL_STAGES),$(eval $(call PROFILE_RULES,$(n))))

.PHONY: profile memprofile blockprofile blockprofile-check profile-server
profile: $(addprefix profile-,$(or $(SELECTED),1))
memprofile: $(addprefix memprofile-,$(or $(SELECTED),1))
blockprofile: $(addprefix blockprofile-,$(or $(SELECTED),1))
blockprofile-check: $(addprefix blockprofile-check-,$(or $(SELECTED),4))
profile-server: $(addprefix profile-server-,$(or $(SELECTED),1))

# ============================ Coverage ========================================
# cover-N: the shared suite against stage N with gcov instrumentation in
# both the test binary and the server it spawns; gcovr merges the two.
COVER_OUT := $(PROFILE_OUT)

define COVER_RULES
.PHONY: cover-$(1)
cover-$(1): $(OUT)/stage$(1)/server-tsan $(OUT)/stage$(1)/race | deps
	@command -v gcovr >/dev/null || { echo "cover: gcovr is not installed; run: make deps" >&2; exit 1; }
	@rm -rf $(OUT)/cover/stage$(1) && mkdir -p $(OUT)/cover/stage$(1)/tmp $(COVER_OUT)/stage$(1)/cover
	cd $(OUT)/cover/stage$(1) && $$(CC) $(CFLAGS_COMMON:-I%=-I$(CURDIR)/%) -O0 --coverage -DSTAGE=$(1) -o tests \
	  $(addprefix $(CURDIR)/,$(call stage_dir,$(1))/hi.c $(TEST_SOURCES) $(HANDLER_SOURCES)) $(LIBS) $$(CHECK_LIBS)
	cd $(OUT)/cover/stage$(1) && $$(CC) $(CFLAGS_COMMON:-I%=-I$(CURDIR)/%) -O0 --coverage -o server \
	  $(addprefix $(CURDIR)/,$(call stage_dir,$(1))/hi.c $(SERVER_SOURCES)) $(LIBS)
	@HI_SERVER=$(OUT)/cover/stage$(1)/server HI_SERVER_TSAN=$(OUT)/stage$(1)/server-tsan \
	  HI_RACE=$(OUT)/stage$(1)/race TMPDIR=$(OUT)/cover/stage$(1)/tmp $(OUT)/cover/stage$(1)/tests \
	  | tail -n 1 | tee $(OUT)/cover/stage$(1)/checks.txt
	@gcovr --root . --object-directory $(OUT)/cover/stage$(1) \
	  --filter 'common/' --filter '$(call stage_dir,$(1))/' \
	  --html-details $(COVER_OUT)/stage$(1)/cover/index.html --print-summary \
	  | awk '/^lines:/ { sub("%", "", $$$$2); printf "coverage: %s%% of lines (stage $(1): common/ and $(call stage_dir,$(1))/)\n", $$$$2 } \
	         /^branches:/ { print "  " $$$$0 }' | tee $(COVER_OUT)/stage$(1)/cover/summary.txt
	@echo "wrote: $(COVER_OUT)/stage$(1)/cover/index.html"
endef
$(foreach n,$(ALL_STAGES),$(eval $(call COVER_RULES,$(n))))

.PHONY: cover
cover: $(addprefix cover-,$(or $(SELECTED),1))

# ============================ Smoke run inside `make test` ====================
# Each profile kind once, briefly, into out/profile-smoke/; each check
# looks for the function the lesson is about, so a broken pipeline fails.
SMOKE_OUT := $(OUT)/profile-smoke

# expect_in FILE PATTERN WHAT: fail unless FILE exists and contains PATTERN.
expect_in = grep -q '$(2)' $(1) || { echo "FAIL: $(3): '$(2)' not in $(1)"; exit 1; }

.PHONY: profile-smoke
profile-smoke: $(OUT)/stage1/bench-cpu $(OUT)/stage1/bench-heap $(OUT)/stage4/bench-cpu \
               $(OUT)/stage5/server-cpu $(CONTENTION_LIB)
	@echo "--- profile smoke run: cpu and mem (stage 1), block (stage 4), server (stage 5)"
	@rm -rf $(SMOKE_OUT)
	@BENCHTIME=0.5s profiles/profile.sh cpu $(OUT)/stage1/bench-cpu $(SMOKE_OUT)/cpu >$(SMOKE_OUT).log 2>&1 \
	  || { cat $(SMOKE_OUT).log; exit 1; }
	@$(call expect_in,$(SMOKE_OUT)/cpu/cpu-top-cum.txt,pcre2_compile,stage 1 CPU profile)
	@BENCHTIME=5000x profiles/profile.sh mem $(OUT)/stage1/bench-heap $(SMOKE_OUT)/mem >>$(SMOKE_OUT).log 2>&1 \
	  || { cat $(SMOKE_OUT).log; exit 1; }
	@$(call expect_in,$(SMOKE_OUT)/mem/mem-top.txt,pcre2_match,stage 1 allocation profile)
	@$(call expect_in,$(SMOKE_OUT)/mem/mem-top.txt,^hi_handle allocated .*: [1-9][0-9]\{4\}\.[0-9] B per call,stage 1 allocation profile)
	@BENCHTIME=0.3s CONTENTION_LIB=$(CONTENTION_LIB) profiles/profile.sh block $(OUT)/stage4/bench-cpu \
	  $(SMOKE_OUT)/block >>$(SMOKE_OUT).log 2>&1 || { cat $(SMOKE_OUT).log; exit 1; }
	@$(call expect_in,$(SMOKE_OUT)/block/block-top.txt,color_is_valid,stage 4 contention profile)
	@DURATION=2s profiles/profile.sh server $(OUT)/stage5/server-cpu $(SMOKE_OUT)/server >>$(SMOKE_OUT).log 2>&1 \
	  || { cat $(SMOKE_OUT).log; exit 1; }
	@$(call expect_in,$(SMOKE_OUT)/server/server-top-cum.txt,handle_request,stage 5 server profile)
	@for png in cpu/cpu mem/mem block/block server/server cpu/cpu-slide block/block-slide; do \
	  file $(SMOKE_OUT)/$$png.png | grep -q 'PNG image' || { echo "FAIL: no PNG at $(SMOKE_OUT)/$$png.png"; exit 1; }; \
	done
	@! BENCHTIME=1x CPUPROFILE_FREQUENCY=1 profiles/profile.sh cpu $(OUT)/stage1/bench-cpu $(SMOKE_OUT)/empty >$(SMOKE_OUT)/empty.log 2>&1 \
	  || { cat $(SMOKE_OUT)/empty.log; echo "FAIL: a CPU profile without samples did not fail"; exit 1; }
	@$(call expect_in,$(SMOKE_OUT)/empty.log,has no samples,a CPU profile without samples)
	@echo "profile smoke run: 4 profiles drawn, each showing its expected function;" \
	  "a run too short to sample fails with a clear message"

# Part of the full `make test` only (see TEST_EXTRAS at the test target).
TEST_EXTRAS += profile-smoke

# ============================ Reliability =====================================
# fuzz: the five stages against each other and an oracle (libFuzzer, clang).
# sanitize: the shared suite under ASan+UBSan, every stage, gcc and clang.
FUZZ_CC := clang
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZTIME ?= 60
FUZZ_OUT := $(OUT)/fuzz

# Each stage's handler, renamed so all five link into one binary.
define FUZZ_STAGE_RULES
$(FUZZ_OUT)/stage$(1).o: $(call stage_dir,$(1))/hi.c $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$(FUZZ_CC) $(CFLAGS_COMMON) -O1 -fsanitize=fuzzer-no-link,address,undefined \
	  -Dhi_init=stage$(1)_hi_init -Dhi_handle=stage$(1)_hi_handle \
	  -Dhi_shutdown=stage$(1)_hi_shutdown -c -o $$@ $$<
endef
$(foreach n,$(ALL_STAGES),$(eval $(call FUZZ_STAGE_RULES,$(n))))

$(FUZZ_OUT)/fuzz_hi: tests/fuzz_hi.c $(foreach n,$(ALL_STAGES),$(FUZZ_OUT)/stage$(n).o) \
                     common/query.c common/response.c common/recorder.c $(COMMON_HEADERS) | deps
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: libFuzzer needs clang; run: make deps" >&2; exit 1; }
	$(FUZZ_CC) $(CFLAGS_COMMON) -O1 $(FUZZ_FLAGS) -o $@ $(filter %.c %.o,$^) $(LIBS)

# fuzz_run SECONDS: a bounded run from the committed seeds; new inputs it
# finds go to out/fuzz/corpus, never into the source tree.
fuzz_run = mkdir -p $(FUZZ_OUT)/corpus && cp tests/fuzz-corpus/* $(FUZZ_OUT)/corpus/ && \
	$(FUZZ_OUT)/fuzz_hi -max_total_time=$(1) -max_len=512 -print_final_stats=1 \
	  -artifact_prefix=$(FUZZ_OUT)/ $(FUZZ_OUT)/corpus

.PHONY: fuzz fuzz-smoke
fuzz: $(FUZZ_OUT)/fuzz_hi
	@echo "fuzzing all five stages against each other for $(FUZZTIME) s (FUZZTIME= to change)"
	@$(call fuzz_run,$(FUZZTIME))

fuzz-smoke: $(FUZZ_OUT)/fuzz_hi
	@echo "--- differential fuzzing, 10 s"
	@$(call fuzz_run,10) >$(FUZZ_OUT)/smoke.log 2>&1 || { tail -n 40 $(FUZZ_OUT)/smoke.log; exit 1; }
	@grep -E '^(Done|stat::number_of_executed_units)' $(FUZZ_OUT)/smoke.log

TEST_EXTRAS += fuzz-smoke

# ============================ Sanitizer matrix ================================
# The shared suite, and the servers it starts, under AddressSanitizer (with
# LeakSanitizer) and UBSan, for every stage, with gcc and with clang. A
# leak makes a server exit non-zero (LeakSanitizer: status 1) instead of 0,
# which the suite checks. The race tests keep using the ThreadSanitizer
# builds of out/stageN/.
SANITIZE_FLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all
SANITIZE_COMPILERS := gcc clang

# SANITIZE_RULES CC N
define SANITIZE_RULES
$(OUT)/sanitize/$(1)/stage$(2)/tests: $(call stage_dir,$(2))/hi.c $(TEST_SOURCES) $(HANDLER_SOURCES) $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$(1) $(CFLAGS_COMMON) $(SANITIZE_FLAGS) -DSTAGE=$(2) -o $$@ $$(filter %.c,$$^) $(LIBS) $$(CHECK_LIBS)

$(OUT)/sanitize/$(1)/stage$(2)/server: $(call stage_dir,$(2))/hi.c $(SERVER_SOURCES) $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$(1) $(CFLAGS_COMMON) $(SANITIZE_FLAGS) -o $$@ $$(filter %.c,$$^) $(LIBS)

.PHONY: sanitize-$(1)-$(2)
sanitize-$(1)-$(2): $(OUT)/sanitize/$(1)/stage$(2)/tests $(OUT)/sanitize/$(1)/stage$(2)/server \
                    $(OUT)/stage$(2)/server-tsan $(OUT)/stage$(2)/race
	@mkdir -p $(OUT)/sanitize/$(1)/stage$(2)/tmp
	@printf '%-6s stage %s: ' $(1) $(2)
	@HI_SERVER=$(OUT)/sanitize/$(1)/stage$(2)/server HI_SERVER_TSAN=$(OUT)/stage$(2)/server-tsan \
	  HI_RACE=$(OUT)/stage$(2)/race TMPDIR=$(OUT)/sanitize/$(1)/stage$(2)/tmp \
	  ASAN_OPTIONS=detect_leaks=1 $(OUT)/sanitize/$(1)/stage$(2)/tests \
	  >$(OUT)/sanitize/$(1)/stage$(2)/log 2>&1 \
	  && tail -n 1 $(OUT)/sanitize/$(1)/stage$(2)/log \
	  || { cat $(OUT)/sanitize/$(1)/stage$(2)/log; exit 1; }
endef
$(foreach cc,$(SANITIZE_COMPILERS),$(foreach n,$(ALL_STAGES),$(eval $(call SANITIZE_RULES,$(cc),$(n)))))

.PHONY: sanitize
sanitize: $(foreach cc,$(SANITIZE_COMPILERS),$(addprefix sanitize-$(cc)-,$(or $(SELECTED),$(ALL_STAGES))))

# ============================ Slides ==========================================
PACKAGES += pandoc
OPTIONAL_PACKAGES += chromium
COMMAND_PACKAGES += node:nodejs npm:npm

SLIDES_OUT := $(OUT)/slides

# reveal.js from npm, pinned by slides/package-lock.json.
slides/node_modules/reveal.js/dist/reveal.js: slides/package.json slides/package-lock.json | deps
	cd slides && npm ci --no-audit --no-fund
	@touch $@

# What the deck shows, regenerated only when missing (order-only): a
# stale picture is still a real measurement, and redoing them all takes
# minutes. `rm -rf profiles/out out/compare` to start afresh.
SLIDES_INPUTS := $(OUT)/compare/compare.json \
  $(foreach n,1 2,profiles/out/stage$(n)/cpu-slide.png) profiles/out/stage1/mem-slide.png \
  $(foreach n,4 5,profiles/out/stage$(n)/block-slide.png) profiles/out/stage5/server-slide.png \
  profiles/out/stage3/cover/summary.txt

$(OUT)/compare/compare.json:
	$(MAKE) --no-print-directory compare
profiles/out/stage%/cpu-slide.png:
	$(MAKE) --no-print-directory profile-$*
profiles/out/stage%/mem-slide.png:
	$(MAKE) --no-print-directory memprofile-$*
profiles/out/stage%/block-slide.png:
	$(MAKE) --no-print-directory blockprofile-$*
profiles/out/stage%/server-slide.png:
	$(MAKE) --no-print-directory profile-server-$*
profiles/out/stage%/cover/summary.txt:
	$(MAKE) --no-print-directory cover-$*

.PHONY: slides slides-test diff
slides: slides/node_modules/reveal.js/dist/reveal.js | $(SLIDES_INPUTS)
	@slides/build.py $(SLIDES_OUT)
	@echo "open $(SLIDES_OUT)/index.html in a browser (works offline)"

# The browser test inside `make test`: the deck from the committed
# reference pictures, opened in headless Chromium.
slides-test: slides/node_modules/reveal.js/dist/reveal.js
	@echo "--- slides: build and open in headless Chromium"
	@REFERENCE_ONLY=1 slides/build.py $(OUT)/slides-test >/dev/null
	@tests/slides_test.sh $(OUT)/slides-test/index.html $(OUT)/slides-test

TEST_EXTRAS += slides-test

# diff N=3 (or `make stage3 diff`): the lesson of stage N.
DIFF_STAGE := $(or $(N),$(firstword $(SELECTED)))
diff:
ifeq ($(filter 2 3 4 5,$(DIFF_STAGE)),)
	@echo "usage: make diff N=2..5 (or make stage3 diff): the change from stage N-1" >&2; exit 2
else
	@diff -u $(call stage_dir,$(shell expr $(DIFF_STAGE) - 1))/hi.c $(call stage_dir,$(DIFF_STAGE))/hi.c || true
endif

# ============================ Attendee targets ================================

.PHONY: $(addprefix stage,$(ALL_STAGES)) test race run build clean help

# A bare `make stage3` builds that stage; with another goal it only selects.
$(addprefix stage,$(ALL_STAGES)):
	@$(if $(OTHER_GOALS),:,$(MAKE) --no-print-directory build-$(patsubst stage%,%,$@))

build: $(addprefix build-,$(or $(SELECTED),$(ALL_STAGES)))

# The full `make test` adds the smoke runs of the other areas (TEST_EXTRAS,
# after the stages); `make stageN test` stays about stage N.
TESTED_STAGES = $(or $(SELECTED),$(ALL_STAGES))
TESTED_EXTRAS = $(if $(SELECTED),,$(TEST_EXTRAS))
SMOKE_RUNS = $(addprefix bench-smoke-,$(TESTED_STAGES)) $(TESTED_EXTRAS)
test: $(addprefix test-,$(TESTED_STAGES)) $(TESTED_EXTRAS)
	@skipped=$(if $(SELECTED),0,$$([ -e $(OUT)/slides-test/SKIPPED ] && echo 1 || echo 0)); \
	awk -v smoke=$(words $(SMOKE_RUNS)) -v stages=$(words $(TESTED_STAGES)) -v skipped=$$skipped \
	  '/Checks:/ { gsub(/[^0-9 ]/, " "); checks += $$2; failed += $$3 + $$4 } \
	   END { printf "make test: %d checks in %d stage suite%s, %d smoke run%s\n", checks, \
	           stages, stages == 1 ? "" : "s", smoke, smoke == 1 ? "" : "s"; \
	         printf "test: %d passed, %d failed%s\n", checks - failed + smoke - skipped, failed, \
	           skipped ? sprintf(", %d skipped", skipped) : ""; exit failed > 0 }' \
	  $(foreach n,$(TESTED_STAGES),$(OUT)/stage$(n)/checks.txt)

race: $(addprefix race-,$(or $(SELECTED),1))

run: run-$(ONE_STAGE)

clean:
	rm -rf $(OUT) profiles/out

help:
	@echo "Profiling & Optimizing in C"
	@echo
	@echo "  make run                  stage 1's server on http://127.0.0.1:$(PORT)/hi (PORT= to move it)"
	@echo "  make test                 every shared test against all five stages, plus smoke runs of"
	@echo "                            the benchmarks, profiles, fuzzer and slides"
	@echo "  make deps                 install the Debian packages everything needs"
	@echo "  make clean                remove out/ and profiles/out/"
	@echo
	@echo "Per stage (N = 1..5; without stageN, test uses all stages and the rest stage 1):"
	@echo "  make stageN               build the stage's server"
	@echo "  make stageN run           run its server"
	@echo "  make stageN test          the shared Check suite, ThreadSanitizer expectations included"
	@echo "  make stageN race          the parallel test under ThreadSanitizer; fails on a data race"
	@echo "  make stageN bench         Go-style benchmarks (BENCH=regex BENCHTIME=1s|100x COUNT=n)"
	@echo "  make stageN load          the live server under wrk -t2 -c50 for 5 s (DURATION=)"
	@echo "  make stageN profile       CPU profile of BenchmarkHi: top, top --cum, list, disasm, PNG"
	@echo "  make stageN memprofile    allocation profile (tcmalloc, --alloc_space): top and PNG"
	@echo "  make stageN blockprofile  mutex contention under BenchmarkHiParallel: top and PNG"
	@echo "  make stageN profile-server  CPU profile of the live server under wrk: top and PNG"
	@echo "  make stageN cover         coverage of the shared suite: summary line and HTML report"
	@echo "  make stageN diff          the lesson: diff of stage N-1's hi.c and stage N's (or: make diff N=3)"
	@echo
	@echo "Across stages:"
	@echo "  make benchcmp OLD=1 NEW=2 both stages COUNT=10 times, alternating; deltas and p-values"
	@echo "  make compare              all five stages: out/compare/compare.md and compare.png"
	@echo "  make slides               the deck, from your own measurements: out/slides/index.html"
	@echo "  make slides-test          build the deck and check it in headless Chromium"
	@echo "  make sanitize             the suite under ASan+LSan+UBSan, every stage, gcc and clang"
	@echo "  make fuzz                 differential fuzzing of all five stages (FUZZTIME=60)"
	@echo "  make build                build every stage's server (out/stageN/server)"
	@echo
	@echo "The smoke runs inside make test, each runnable alone:"
	@echo "  make profile-smoke        one profile of each kind, checked for its expected function"
	@echo "  make fuzz-smoke           10 s of differential fuzzing"
	@echo "  make stageN bench-smoke   every benchmark briefly; 0 allocs/op enforced in stages 4-5"
	@echo "  (make test-N, race-N, bench-N, ... are what make stageN test, race, bench, ... run)"
	@echo
	@echo "Stages:"
	@$(foreach n,$(ALL_STAGES),echo "  stage$(n)  $(call stage_dir,$(n))";)
