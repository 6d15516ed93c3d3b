# mk/profile.mk - the Go talk's profiles, done the C way, and coverage.
#
#   UNIT-profile          gperftools' CPU profiler over BenchmarkHi
#   UNIT-memprofile       tcmalloc's heap profiler: what BenchmarkHi allocates
#   UNIT-blockprofile     mutex contention (profiles/contention.c, LD_PRELOAD)
#   UNIT-blockprofile-check  the same, against the lock calls the kernel put to sleep
#   UNIT-profile-server   the CPU profiler in the live server, under wrk
#   UNIT-cover            coverage of the shared suite (gcov, gcovr)
#
# Reports and pictures go to out/UNIT/profiles/ (profiles/profile.sh).


UNIT_FILES += bench-cpu bench-heap server-cpu

PROFILER_LIBS := -Wl,--no-as-needed -lprofiler -Wl,--as-needed
CONTENTION_LIB := $(OUT)/profiles/libcontention.so
profile_dir = $(OUT)/$(1)/profiles

# $(call report_to,DIR,COMMAND) runs COMMAND, showing what it prints, and
# keeps that as DIR/report.txt only when it succeeds: a tool that cannot
# run here (perf not allowed, say) leaves no empty or partial report for
# the deck to show as measured, and any earlier real one stays.
report_to = mkdir -p $(1) && { $(2) | tee $(1)/report.part && mv $(1)/report.part $(1)/report.txt \
	|| { rm -f $(1)/report.part; exit 1; }; }

# The contention profiler, a library loaded with LD_PRELOAD. Frame
# pointers, because it walks them to find its caller's stack.
$(CONTENTION_LIB): profiles/contention.c $(COMPILER_STAMP) | deps-profile
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) -std=c11 $(WARNINGS) -O2 -g -fno-omit-frame-pointer -fPIC -shared -o $@ $< -ldl

# A program that makes an exact number of contended lock calls, which
# the profiler must count exactly (profile-smoke).
$(OUT)/profiles/contention-test: profiles/contention_test.c $(COMPILER_STAMP) | deps-build
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) -std=c11 $(WARNINGS) -O2 -g -fno-omit-frame-pointer -pthread -o $@ $<

# The benchmarks with gperftools' CPU profiler linked in (gcc drops it
# silently without --no-as-needed); allocations are not counted here.
$(OUT)/%/bench-cpu: $(call bench_objects,%) $(call objects,o2,bench/alloc_count_none.c) | deps-build deps-profile
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -o $@ $^ $(LIBS) $(PROFILER_LIBS)

# The benchmarks on tcmalloc, whose heap profiler records every allocation.
$(OUT)/%/bench-heap: $(call bench_objects,%) $(call objects,o2,bench/alloc_count_none.c) | deps-build deps-profile
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -o $@ $^ $(LIBS) -Wl,--no-as-needed -ltcmalloc -Wl,--as-needed

# The server with the CPU profiler.
$(OUT)/%/server-cpu: $(OUT)/%/hi.o $(call objects,o2,$(SERVER_SOURCES)) | deps-profile
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -o $@ $^ $(LIBS) $(PROFILER_LIBS)

.PHONY: profile memprofile blockprofile blockprofile-check profile-server cover
profile: $(call per_unit,profile)
%-profile: $(OUT)/%/bench-cpu
	@profiles/profile.sh cpu $< $(call profile_dir,$*)

memprofile: $(call per_unit,memprofile)
%-memprofile: $(OUT)/%/bench-heap
	@profiles/profile.sh mem $< $(call profile_dir,$*)

blockprofile: $(call per_unit,blockprofile)
%-blockprofile: $(OUT)/%/bench-cpu $(CONTENTION_LIB)
	@CONTENTION_LIB=$(CONTENTION_LIB) profiles/profile.sh block $< $(call profile_dir,$*)

blockprofile-check: $(addsuffix -blockprofile-check,$(or $(SELECTED),stage4))
%-blockprofile-check: $(OUT)/%/bench-cpu $(CONTENTION_LIB) | deps-perf
	@$(call report_to,$(OUT)/$*/block-check,profiles/block_check.sh $< $(CONTENTION_LIB) $(OUT)/$*/block-check 2>&1)

profile-server: $(call per_unit,profile-server)
%-profile-server: $(OUT)/%/server-cpu | deps-bench
	@profiles/profile.sh server $< $(call profile_dir,$*)

# ============================ Coverage ========================================

# The suite against the unit with gcov instrumentation in both the test
# binary and the server it starts; gcovr merges the two. Built with
# absolute paths in a folder of its own, where the .gcda files land.
cover: $(call per_unit,cover)
%-cover: $(OUT)/%/server-tsan $(OUT)/%/race $(OUT)/%/race-notsan | deps-profile deps-test
	@rm -rf $(OUT)/cover/$* && mkdir -p $(OUT)/cover/$*/tmp $(call profile_dir,$*)/cover
	$(call say,CC,$(OUT)/cover/$*/tests)
	$(Q)cd $(OUT)/cover/$* && $(CC) $(CFLAGS_COMMON:-I%=-I$(CURDIR)/%) -O0 --coverage $(call unit_flags,$*) \
	  -o tests $(addprefix $(CURDIR)/,$(call unit_source,$*) tests/unit.c $(TEST_SOURCES) $(HANDLER_SOURCES)) \
	  $(LIBS) $(CHECK_LIBS)
	$(call say,CC,$(OUT)/cover/$*/server)
	$(Q)cd $(OUT)/cover/$* && $(CC) $(CFLAGS_COMMON:-I%=-I$(CURDIR)/%) -O0 --coverage -o server \
	  $(addprefix $(CURDIR)/,$(call unit_source,$*) $(SERVER_SOURCES)) $(LIBS)
	@$(call suite_env,$*,$(OUT)/cover/$*/server,$(OUT)/cover/$*/tmp) $(OUT)/cover/$*/tests \
	  | tail -n 1 | tee $(OUT)/cover/$*/checks.txt
	@gcovr --root . --object-directory $(OUT)/cover/$* \
	  --filter 'common/' --filter '$(dir $(call unit_source,$*))' \
	  --html-details $(call profile_dir,$*)/cover/index.html --print-summary \
	  | awk '/^lines:/ { sub("%", "", $$2); printf "coverage: %s%% of lines ($* : common/ and $(dir $(call unit_source,$*)))\n", $$2 } \
	         /^branches:/ { print "  " $$0 }' | tee $(call profile_dir,$*)/cover/summary.txt
	@echo "wrote: $(call profile_dir,$*)/cover/index.html"

# ============================ Smoke run inside `make test` ====================
# Each profile kind once, briefly, into out/profile-smoke/; each check
# looks for the function the lesson is about, so a broken pipeline fails.
PROFILE_SMOKE_BINARIES := $(OUT)/stage1/bench-cpu $(OUT)/stage1/bench-heap $(OUT)/stage4/bench-cpu \
  $(OUT)/stage$(LAST_STAGE)/bench-heap $(OUT)/stage$(LAST_STAGE)/server-cpu $(CONTENTION_LIB) \
  $(OUT)/profiles/contention-test $(OUT)/challenge-given/bench-cpu

.PHONY: profile-smoke
profile-smoke: $(PROFILE_SMOKE_BINARIES) | deps-bench
	@echo "--- profile smoke run: cpu and mem (stage 1), block (stage 4, and a program of known"
	@echo "    contention), mem and server (stage $(LAST_STAGE)), each picture by its pixels"
	@profiles/profile-smoke.sh $(OUT) $(LAST_STAGE)

SMOKE_RUNS += profile-smoke
SMOKE_BINARIES += $(PROFILE_SMOKE_BINARIES)
