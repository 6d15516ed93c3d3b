# ============================ Profiles ========================================
PACKAGES += google-perftools libgoogle-perftools-dev graphviz gcovr file

PROFILE_OUT := profiles/out
PROFILER_LIBS := -Wl,--no-as-needed -lprofiler -Wl,--as-needed
CONTENTION_LIB := $(OUT)/profiles/libcontention.so

$(CONTENTION_LIB): profiles/contention.c $(COMPILER_STAMP) | deps
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARNINGS) -O2 -g -fPIC -shared -o $@ $< -ldl

# PROFILE_RULES N: profiling builds of stage N and the targets using them.
#   bench-cpu    the benchmarks with gperftools' CPU profiler linked in
#   bench-heap   the benchmarks on tcmalloc, whose heap profiler records
#                every allocation (so they cannot count allocations too)
#   server-cpu   the server with the CPU profiler
define PROFILE_RULES
$(OUT)/stage$(1)/bench-cpu: $(call stage_dir,$(1))/hi.c $(BENCH_SOURCES) common/alloc_count_none.c $(COMMON_HEADERS) | deps
	$$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -DSTAGE_NAME='"stage$(1)"' -o $$@ $$(filter %.c,$$^) $(LIBS) $(PROFILER_LIBS)

$(OUT)/stage$(1)/bench-heap: $(call stage_dir,$(1))/hi.c $(BENCH_SOURCES) common/alloc_count_none.c $(COMMON_HEADERS) | deps
	$$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -DSTAGE_NAME='"stage$(1)"' -o $$@ $$(filter %.c,$$^) $(LIBS) \
	  -Wl,--no-as-needed -ltcmalloc -Wl,--as-needed

$(OUT)/stage$(1)/server-cpu: $(call stage_dir,$(1))/hi.c $(SERVER_SOURCES) $(COMMON_HEADERS) | deps
	$$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -o $$@ $$(filter %.c,$$^) $(LIBS) $(PROFILER_LIBS)

.PHONY: profile-$(1) memprofile-$(1) blockprofile-$(1) profile-server-$(1)
profile-$(1): $(OUT)/stage$(1)/bench-cpu
	@profiles/profile.sh cpu $(OUT)/stage$(1)/bench-cpu $(PROFILE_OUT)/stage$(1)

memprofile-$(1): $(OUT)/stage$(1)/bench-heap
	@profiles/profile.sh mem $(OUT)/stage$(1)/bench-heap $(PROFILE_OUT)/stage$(1)

blockprofile-$(1): $(OUT)/stage$(1)/bench-cpu $(CONTENTION_LIB)
	@CONTENTION_LIB=$(CONTENTION_LIB) profiles/profile.sh block $(OUT)/stage$(1)/bench-cpu $(PROFILE_OUT)/stage$(1)

profile-server-$(1): $(OUT)/stage$(1)/server-cpu
	@profiles/profile.sh server $(OUT)/stage$(1)/server-cpu $(PROFILE_OUT)/stage$(1)
endef
$(foreach n,$(ALL_STAGES),$(eval $(call PROFILE_RULES,$(n))))

.PHONY: profile memprofile blockprofile profile-server
profile: $(addprefix profile-,$(or $(SELECTED),1))
memprofile: $(addprefix memprofile-,$(or $(SELECTED),1))
blockprofile: $(addprefix blockprofile-,$(or $(SELECTED),1))
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
	@BENCHTIME=0.3s CONTENTION_LIB=$(CONTENTION_LIB) profiles/profile.sh block $(OUT)/stage4/bench-cpu \
	  $(SMOKE_OUT)/block >>$(SMOKE_OUT).log 2>&1 || { cat $(SMOKE_OUT).log; exit 1; }
	@$(call expect_in,$(SMOKE_OUT)/block/block-top.txt,color_is_valid,stage 4 contention profile)
	@DURATION=2s profiles/profile.sh server $(OUT)/stage5/server-cpu $(SMOKE_OUT)/server >>$(SMOKE_OUT).log 2>&1 \
	  || { cat $(SMOKE_OUT).log; exit 1; }
	@$(call expect_in,$(SMOKE_OUT)/server/server-top-cum.txt,handle_request,stage 5 server profile)
	@for png in cpu/cpu mem/mem block/block server/server; do \
	  file $(SMOKE_OUT)/$$png.png | grep -q 'PNG image' || { echo "FAIL: no PNG at $(SMOKE_OUT)/$$png.png"; exit 1; }; \
	done
	@echo "profile smoke run: 4 profiles drawn, each showing its expected function"

# Only in the full `make test`: `make stageN test` stays about stage N.
ifeq ($(SELECTED),)
test: profile-smoke
endif
