# mk/reliability.mk - the stages against each other, and under sanitizers.
#
#   fuzz       libFuzzer feeds every stage and an oracle the same random
#              query strings (tests/fuzz_hi.c); any difference aborts
#   sanitize   the shared suite under ASan+LSan+UBSan, every stage, with
#              gcc and with clang
#   hardened-smoke  every C file under Ubuntu's default hardening flags
#              (tests/hardened_build.sh), inside make test
#   fresh-check  (maintainers) the README's two commands on a new Debian
#              (mk/fresh-check.sh DISTRO=bookworm or trixie)

FUZZ_CC := clang
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZTIME ?= 60
FUZZ_OUT := $(OUT)/fuzz
# X(1) X(2) ...: the stages, for tests/fuzz_hi.c.
FOR_EACH_STAGE := $(foreach n,$(ALL_STAGES),X($(n)))

# One stage's handler, its hi_* functions renamed stageN_hi_* so that
# every stage links into one binary.
# (mk/units.mk adds each stage's hi.c: out/fuzz/stage3.o from stage 3's.)
$(FUZZ_OUT)/stage%.o: $(HEADERS) | deps-build deps-fuzz
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(FUZZ_CC) $(CFLAGS_COMMON) -O1 -fsanitize=fuzzer-no-link,address,undefined \
	  -Dhi_init=stage$*_hi_init -Dhi_handle=stage$*_hi_handle \
	  -Dhi_shutdown=stage$*_hi_shutdown -c -o $@ $(filter %/hi.c,$^)

$(FUZZ_OUT)/fuzz_hi: tests/fuzz_hi.c $(foreach n,$(ALL_STAGES),$(FUZZ_OUT)/stage$(n).o) \
                     common/query.c common/response.c tests/recorder.c $(HEADERS) $(STAGES_FILE) | deps-build deps-fuzz
	$(call say,CC,$@)
	$(Q)$(FUZZ_CC) $(CFLAGS_COMMON) -O1 $(FUZZ_FLAGS) '-DFOR_EACH_STAGE(X)=$(FOR_EACH_STAGE)' \
	  -o $@ $(filter %.c %.o,$^) $(LIBS)

# fuzz_run SECONDS: a bounded run from the committed seeds; new inputs it
# finds go to out/fuzz/corpus, never into the source tree.
fuzz_run = mkdir -p $(FUZZ_OUT)/corpus && cp tests/fuzz-corpus/* $(FUZZ_OUT)/corpus/ && \
	$(FUZZ_OUT)/fuzz_hi -max_total_time=$(1) -max_len=512 -print_final_stats=1 \
	  -artifact_prefix=$(FUZZ_OUT)/ $(FUZZ_OUT)/corpus

.PHONY: fuzz fuzz-smoke sanitize
fuzz: $(FUZZ_OUT)/fuzz_hi
	@echo "fuzzing all $(words $(ALL_STAGES)) stages against each other for $(FUZZTIME) s (FUZZTIME= to change)"
	@$(call fuzz_run,$(FUZZTIME))

fuzz-smoke: $(FUZZ_OUT)/fuzz_hi
	@echo "--- differential fuzzing of $(words $(ALL_STAGES)) stages, 10 s"
	@$(call fuzz_run,10) >$(FUZZ_OUT)/smoke.log 2>&1 || { tail -n 40 $(FUZZ_OUT)/smoke.log; exit 1; }
	@grep -E '^Done' $(FUZZ_OUT)/smoke.log

SMOKE_RUNS += fuzz-smoke
SMOKE_BINARIES += $(FUZZ_OUT)/fuzz_hi

# ============================ Sanitizer matrix ================================
# A leak makes a server exit non-zero (LeakSanitizer: status 1) instead of
# 0, which the suite checks. The race tests keep using the ThreadSanitizer
# builds of out/stageN/.
SANITIZE_FLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all
SANITIZE_COMPILERS := gcc clang
# A run is named COMPILER-UNIT: gcc-stage3, clang-work.
sanitize_cc = $(firstword $(subst -, ,$(1)))
sanitize_unit = $(patsubst $(call sanitize_cc,$(1))-%,%,$(1))

# out/sanitize/COMPILER-UNIT/{tests,server}
# (mk/units.mk adds the unit's hi.c, and to sanitize-COMPILER-UNIT the
# unit's race binaries.)
$(OUT)/sanitize/%/tests: tests/unit.c $(TEST_SOURCES) $(HANDLER_SOURCES) $(HEADERS) | deps-test
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(call sanitize_cc,$*) $(CFLAGS_COMMON) $(SANITIZE_FLAGS) $(call unit_flags,$(call sanitize_unit,$*)) \
	  -o $@ $(filter %.c,$^) $(LIBS) $(CHECK_LIBS)
$(OUT)/sanitize/%/server: $(SERVER_SOURCES) $(HEADERS) | deps-test
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(call sanitize_cc,$*) $(CFLAGS_COMMON) $(SANITIZE_FLAGS) -o $@ $(filter %.c,$^) $(LIBS)

SANITIZE_RUNS := $(foreach cc,$(SANITIZE_COMPILERS),$(addprefix sanitize-$(cc)-,$(or $(SELECTED),$(STAGE_UNITS))))
sanitize: $(SANITIZE_RUNS)
sanitize-%: $(OUT)/sanitize/%/tests $(OUT)/sanitize/%/server
	@mkdir -p $(OUT)/sanitize/$*/tmp
	@printf '%-6s %s: ' $(call sanitize_cc,$*) $(call sanitize_unit,$*)
	@$(call suite_env,$(call sanitize_unit,$*),$(OUT)/sanitize/$*/server,$(OUT)/sanitize/$*/tmp) \
	  ASAN_OPTIONS=detect_leaks=1 $(OUT)/sanitize/$*/tests \
	  >$(OUT)/sanitize/$*/log 2>&1 \
	  && tail -n 1 $(OUT)/sanitize/$*/log || { cat $(OUT)/sanitize/$*/log; exit 1; }

# ============================ Other systems' compilers ========================
.PHONY: hardened-smoke fresh-check
hardened-smoke: | deps-build deps-test
	@echo "--- every C file as Ubuntu's gcc and clang compile it (FORTIFY_SOURCE=3, stack protection, CET)"
	@tests/hardened_build.sh $(OUT)/hardened $(CFLAGS_COMMON) $(OPTIMIZE)

SMOKE_RUNS += hardened-smoke

# The README's two commands, as a new user on a new Debian (root or sudo
# needed for debootstrap; it takes about 10 minutes): DISTRO=bookworm or trixie.
DISTRO ?= trixie
fresh-check:
	@mk/fresh-check.sh $(DISTRO) $(OUT)/fresh/$(DISTRO)

# Every command the agenda has the room run, in its order, timed on a
# quiet machine and on a busy one, RUNS times each, and held to 100
# columns (mk/agenda-check.sh; after make test, about 40 minutes).
# ONLY=regex times only the commands it matches (make agenda-check ONLY=web).
RUNS ?= 3
.PHONY: agenda-check
agenda-check:
	@ONLY='$(ONLY)' mk/agenda-check.sh $(OUT)/agenda-check $(RUNS)

# The container image, built and run as the README says (podman, as root;
# ARCH=arm64 under qemu-user-static): make run answered from the host's
# side of the published port, then make test with no network.
ARCH ?= amd64
.PHONY: container-check
container-check:
	@mk/container-check.sh $(ARCH) $(OUT)/container/$(ARCH)
