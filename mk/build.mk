# mk/build.mk - compiling a unit (a stage, the workspace, the challenge):
# its server, its suite and its race demo. Running them is mk/run.mk's.
#
# Every C file the units share is compiled once per flavour, into
# out/obj/FLAVOUR/; a unit's own files (its hi.c, and tests/unit.c with
# its constants) once per unit, into out/UNIT/. Every binary of a unit is
# then linked by a pattern rule below, out/%/NAME with % the unit
# (stage3, work): editing work/hi.c recompiles two files, then links.
# When one fails, make names the line of its rule here: the comment
# above that rule says what it builds and why.

# The files each unit's rules make (the other mk/ files add theirs).
UNIT_FILES := server server-tsan race race-notsan tests hi.o hi-tsan.o unit.o unit.txt

# The binaries make test compiles first for each unit (mk/test.mk); the
# other mk/ files add theirs.
TEST_BUILD_FILES := server server-tsan race race-notsan tests

# out/ for the default flags; other OPTIMIZE values get a folder of their
# own, so that trying -O3 never throws the usual builds away.
OUT := out$(if $(filter-out $(DEFAULT_OPTIMIZE),$(OPTIMIZE)),/$(patsubst -%,%,$(subst $(space),,$(subst /,_,$(OPTIMIZE)))))

# -O2 with frame pointers and -g: fast code whose profiles still show
# readable call stacks. DWARF 4, because valgrind 3.19 cannot read the
# DWARF 5 that clang 14 writes by default.
# Warnings are errors with WERROR=1, which CI (.ci/run) and the maintainers'
# checks set. An attendee's build leaves it off: a warning that a newer
# compiler adds prints, and the workshop goes on.
WARNINGS := -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror)
CFLAGS_COMMON := -std=c11 -D_POSIX_C_SOURCE=200809L $(WARNINGS) -g -gdwarf-4 \
                 -fno-omit-frame-pointer -pthread -Icommon -Itests -Ibench
TSAN_FLAGS := -O1 -fsanitize=thread
LIBS := -lcivetweb -lpcre2-8 -pthread
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

# One line per binary, "  CC      out/stage1/server", as the kernel's and
# git's builds print them; V=1 shows every command in full, and make
# test's first step (QUIET_BUILD=1, mk/test.mk) none, as go test prints
# no build lines. A compile that fails prints the compiler's own error
# either way.
ifeq ($(V),1)
Q :=
say =
else ifeq ($(QUIET_BUILD),1)
Q := @
say =
else
Q := @
say = @printf '  %-7s %s\n' '$(1)' '$(2)'
endif

# Binaries depend on this file, which changes whenever the compiler or the
# flags do, so `CC=clang make test` after a gcc build rebuilds everything.
# Its rule runs every time but rewrites the file only when the line
# differs, as git's Makefile keeps GIT-CFLAGS.
COMPILER_STAMP := $(OUT)/compiler.txt
COMPILER_ID := $(CC) $(CFLAGS_COMMON) $(OPTIMIZE) $(TSAN_FLAGS) $(LIBS)
$(COMPILER_STAMP): recheck
	@mkdir -p $(@D)
	@echo '$(COMPILER_ID)' | cmp -s - $@ || echo '$(COMPILER_ID)' >$@
.PHONY: recheck
recheck:

HEADERS := $(wildcard common/*.h tests/*.h bench/*.h) $(COMPILER_STAMP)
SERVER_SOURCES := common/server.c common/civet_writer.c common/router.c \
                  common/query.c common/response.c
HANDLER_SOURCES := common/router.c common/query.c common/response.c tests/recorder.c
TEST_SOURCES := $(wildcard tests/check_*.c) tests/http_client.c tests/server_process.c \
                tests/visitors.c
RACE_SOURCES := tests/race.c tests/visitors.c tests/http_client.c tests/server_process.c

# $(call suite_env,UNIT,SERVER,TMPDIR): the environment the suite runs
# in (tests/check_main.c): the server under test, and UNIT's
# ThreadSanitizer server and race tests.
suite_env = HI_SKIPPED=$(OUT)/skipped/$(1)-race.txt \
	HI_SERVER=$(2) HI_SERVER_TSAN=$(OUT)/$(1)/server-tsan HI_RACE=$(OUT)/$(1)/race \
	HI_RACE_NOTSAN=$(OUT)/$(1)/race-notsan TMPDIR=$(3)

# What the suite and the benchmarks are told about the unit they check
# (tests/unit.h), as tests/unit.c's -D flags; and the same in words, for
# the file that changes whenever they do (the workspace copied from
# another stage, say).
unit_flags = -DSTAGE=$(call unit_stage,$(1)) -DUNIT_NAME='"$(call unit_name,$(1))"' \
             -DSTAGE_RACE_FREE=$(if $(filter race-free,$(call unit_expects,$(1))),1,0) \
             -DSTAGE_RACE_REPORTED=$(if $(filter race,$(call unit_expects,$(1))),1,0)
unit_description = stage $(call unit_stage,$(1)), expects $(call unit_expects,$(1)), named $(call unit_name,$(1))

# ============================ Objects =========================================

# The two flavours of every shared file: OPTIMIZE (what runs, and what is
# measured) and ThreadSanitizer's (the race tests). objects FLAVOUR,FILES
# names their objects.
OBJ := $(OUT)/obj
objects = $(patsubst %.c,$(OBJ)/$(1)/%.o,$(2))
SHARED_OBJECTS = $(call objects,o2,$(sort $(SERVER_SOURCES) $(TEST_SOURCES) $(RACE_SOURCES) \
	$(BENCH_SOURCES) bench/alloc_count.c bench/alloc_count_none.c)) \
	$(call objects,tsan,$(sort $(SERVER_SOURCES) $(RACE_SOURCES) $(HANDLER_SOURCES)))

$(OBJ)/o2/%.o: %.c $(HEADERS) | deps-build
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -c -o $@ $<
$(OBJ)/tsan/%.o: %.c $(HEADERS) | deps-build
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(TSAN_FLAGS) -c -o $@ $<
# The suite's own files need Check's header.
$(OBJ)/o2/tests/check_%.o: tests/check_%.c $(HEADERS) | deps-build deps-test
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -c -o $@ $<

# A unit's handler, in both flavours (mk/units.mk adds its hi.c:
# out/stage3/hi.o: stages/03-atomic-counter/hi.c).
$(OUT)/%/hi.o: $(HEADERS) | deps-build
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -c -o $@ $(filter %.c,$^)
$(OUT)/%/hi-tsan.o: $(HEADERS) | deps-build
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(TSAN_FLAGS) -c -o $@ $(filter %.c,$^)

# A unit's constants. unit.txt says them in words; its rule runs every
# time but rewrites it only when they change, as the compiler's stamp.
$(OUT)/%/unit.o: tests/unit.c $(OUT)/%/unit.txt $(HEADERS) | deps-build
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) $(call unit_flags,$*) -c -o $@ $<
$(OUT)/%/unit.txt: recheck
	@mkdir -p $(@D)
	@echo "$(call unit_description,$*)" | cmp -s - $@ || echo "$(call unit_description,$*)" >$@

# ============================ A unit's binaries ===============================

# The HTTP server (make stageN run).
$(OUT)/%/server: $(OUT)/%/hi.o $(call objects,o2,$(SERVER_SOURCES)) | deps-build
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -o $@ $^ $(LIBS)

# The server under ThreadSanitizer, for the suite's live race test.
$(OUT)/%/server-tsan: $(OUT)/%/hi-tsan.o $(call objects,tsan,$(SERVER_SOURCES)) | deps-build
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(TSAN_FLAGS) -o $@ $^ $(LIBS)

# tests/race.c under ThreadSanitizer (make stageN race), and without it,
# where it shows what the race does to the visitor numbers.
$(OUT)/%/race: $(OUT)/%/hi-tsan.o $(call objects,tsan,$(RACE_SOURCES) $(HANDLER_SOURCES)) | deps-build
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(TSAN_FLAGS) -o $@ $^ $(LIBS)
$(OUT)/%/race-notsan: $(OUT)/%/hi.o $(call objects,o2,$(RACE_SOURCES) $(HANDLER_SOURCES)) | deps-build
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -o $@ $^ $(LIBS)

# The shared Check suite, told by unit.o which stage's expectations apply.
$(OUT)/%/tests: $(OUT)/%/hi.o $(OUT)/%/unit.o $(call objects,o2,$(TEST_SOURCES) $(HANDLER_SOURCES)) \
                | deps-build deps-test
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -o $@ $^ $(LIBS) $(CHECK_LIBS)
