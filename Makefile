# Profiling & Optimizing in C - the one Makefile.
#
#   make run                 stage 1's server on 127.0.0.1:8080
#   make test                every shared test against every stage
#   make stage3 test         the same for one stage (also race, run, ...)
#   make help                every target
#
# Everything built or measured goes under out/ (ignored by git).

SHELL := /bin/bash
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
RACE_SOURCES := tests/race.c tests/visitors.c tests/http_client.c

# ============================ Debian packages =================================

# What `make deps` installs. Every target that needs a package depends on
# deps, so a fresh Debian 12 or Ubuntu machine needs no manual set-up.
PACKAGES := gcc clang make pkg-config libc6-dev libclang-rt-dev \
            libcivetweb-dev libpcre2-dev check

# COMMAND:PACKAGE pairs installed only when the command is missing: node
# and npm may come from elsewhere (NodeSource), and Debian's npm package
# would then conflict.
COMMAND_PACKAGES :=

.PHONY: deps
deps:
	@missing=""; \
	for package in $(PACKAGES); do \
	  dpkg-query -W -f='$${db:Status-Status}' "$$package" 2>/dev/null | grep -qx installed \
	    || missing="$$missing $$package"; \
	done; \
	for pair in $(COMMAND_PACKAGES); do \
	  command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if ! command -v apt-get >/dev/null; then \
	  echo "deps: this needs Debian or Ubuntu (apt-get). Missing packages:$$missing" >&2; exit 1; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null; then sudo="sudo"; \
	else echo "deps: missing packages. As root, run: apt-get install -y$$missing" >&2; exit 1; fi; \
	echo "deps: installing$$missing (log: $(OUT)/apt.log)"; \
	mkdir -p $(OUT); \
	{ $$sudo apt-get update && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	} >$(OUT)/apt.log 2>&1 || { \
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

$(OUT)/stage$(1)/tests: $(call stage_dir,$(1))/hi.c $(TEST_SOURCES) $(HANDLER_SOURCES) $(COMMON_HEADERS) | deps
	@mkdir -p $$(@D)
	$$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -DSTAGE=$(1) -o $$@ $$(filter %.c,$$^) $(LIBS) $$(CHECK_LIBS)

.PHONY: build-$(1) test-$(1) race-$(1) run-$(1)
build-$(1): $(OUT)/stage$(1)/server

test-$(1): $(OUT)/stage$(1)/tests $(OUT)/stage$(1)/server $(OUT)/stage$(1)/server-tsan $(OUT)/stage$(1)/race
	@echo "=== stage $(1): $(notdir $(call stage_dir,$(1))) ==="
	@mkdir -p $(OUT)/stage$(1)/tmp
	@HI_SERVER=$(OUT)/stage$(1)/server HI_SERVER_TSAN=$(OUT)/stage$(1)/server-tsan \
	  HI_RACE=$(OUT)/stage$(1)/race TMPDIR=$(OUT)/stage$(1)/tmp $(OUT)/stage$(1)/tests

race-$(1): $(OUT)/stage$(1)/race
	@echo "=== stage $(1) under ThreadSanitizer: 4 threads call the handler at once ==="
	@$(OUT)/stage$(1)/race && echo "PASS: no data race in stage $(1)" || { status=$$$$?; \
	  echo "FAIL: stage $(1): ThreadSanitizer exit status $$$$status (66 means a data race)"; exit 1; }

run-$(1): $(OUT)/stage$(1)/server
	@PORT=$(PORT) $(OUT)/stage$(1)/server
endef
$(foreach n,$(ALL_STAGES),$(eval $(call STAGE_RULES,$(n))))

# ============================ Work in progress ================================
# Each area (bench, profile, slides, reliability) is developed in its own
# mk/NAME.mk and merged into this file when finished.
-include $(sort $(wildcard mk/*.mk))

# ============================ Attendee targets ================================

.PHONY: $(addprefix stage,$(ALL_STAGES)) test race run build clean help

# A bare `make stage3` builds that stage; with another goal it only selects.
$(addprefix stage,$(ALL_STAGES)):
	@$(if $(OTHER_GOALS),:,$(MAKE) --no-print-directory build-$(patsubst stage%,%,$@))

build: $(addprefix build-,$(or $(SELECTED),$(ALL_STAGES)))

test: $(addprefix test-,$(or $(SELECTED),$(ALL_STAGES)))

race: $(addprefix race-,$(or $(SELECTED),1))

run: run-$(ONE_STAGE)

clean:
	rm -rf $(OUT)

help::
	@echo "Profiling & Optimizing in C"
	@echo
	@echo "  make run                  stage 1's server on http://127.0.0.1:$(PORT)/hi (PORT= to move it)"
	@echo "  make test                 every shared test against all five stages"
	@echo "  make deps                 install the Debian packages everything needs"
	@echo "  make clean                remove out/"
	@echo
	@echo "Per stage (N = 1..5; without stageN: test uses all stages, the rest stage 1):"
	@echo "  make stageN               build the stage's server"
	@echo "  make stageN run           run its server"
	@echo "  make stageN test          the shared Check suite, ThreadSanitizer expectations included"
	@echo "  make stageN race          the parallel test under ThreadSanitizer; fails on a data race"
	@echo
	@echo "Stages:"
	@$(foreach n,$(ALL_STAGES),echo "  stage$(n)  $(call stage_dir,$(n))";)
