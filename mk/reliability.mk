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
fuzz_run = mkdir -p $(FUZZ_OUT)/corpus && cp -n tests/fuzz-corpus/* $(FUZZ_OUT)/corpus/ && \
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

ifeq ($(SELECTED),)
test: fuzz-smoke
endif

# ============================ Sanitizer matrix ================================
# The shared suite, and the servers it starts, under AddressSanitizer (with
# LeakSanitizer) and UBSan, for every stage, with gcc and with clang. A
# leak makes a server exit 23 instead of 0, which the suite checks. The
# race tests keep using the ThreadSanitizer builds of out/stageN/.
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
