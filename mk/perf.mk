# mk/perf.mk - the C field's own tools: Linux perf, valgrind's DHAT, strace,
# and the compiler's report.
#
#   UNIT-flame         perf record --call-graph dwarf over BenchmarkHi: an offline flame graph
#   UNIT-flame-server  the same for the live server under wrk
#   UNIT-stat          perf stat's counters per call of BenchmarkHi
#   UNIT-syscalls      the live server's system calls per request
#   UNIT-offcpu        where the live server's threads wait
#   UNIT-dhat          valgrind's DHAT: per allocation site, bytes and use
#   UNIT-annotate      perf annotate of the hottest function of our code
#   UNIT-optinfo       which calls the compiler did not inline, and why
#   nagle              the Nagle stall, measured: two writes against one
#
# Output goes to out/UNIT/perf/KIND/ (profiles/perf.sh and friends).

perf_dir = $(OUT)/$(1)/perf/$(2)

.PHONY: flame flame-server stat syscalls offcpu dhat annotate optinfo nagle perf-smoke
flame: $(call per_unit,flame)
%-flame: $(OUT)/%/bench-plain $(JS_READY) | deps-perf
	@$(call report_to,$(call perf_dir,$*,flame),profiles/perf.sh flame $< $(call perf_dir,$*,flame))

flame-server: $(call per_unit,flame-server)
%-flame-server: $(OUT)/%/server $(JS_READY) | deps-perf deps-bench
	@$(call report_to,$(call perf_dir,$*,flame-server),profiles/perf.sh flame-server $< $(call perf_dir,$*,flame-server))

stat: $(call per_unit,stat)
%-stat: $(OUT)/%/bench-plain | deps-perf
	@$(call report_to,$(call perf_dir,$*,stat),profiles/perf.sh stat $< $(call perf_dir,$*,stat))

syscalls: $(call per_unit,syscalls)
%-syscalls: $(OUT)/%/server | deps-perf deps-bench
	@$(call report_to,$(call perf_dir,$*,syscalls),profiles/perf.sh syscalls $< $(call perf_dir,$*,syscalls))

offcpu: $(call per_unit,offcpu)
%-offcpu: $(OUT)/%/server | deps-perf deps-bench
	@$(call report_to,$(call perf_dir,$*,offcpu),profiles/perf.sh offcpu $< $(call perf_dir,$*,offcpu))

dhat: $(call per_unit,dhat)
%-dhat: $(OUT)/%/bench-plain | deps-perf
	@$(call report_to,$(call perf_dir,$*,dhat),profiles/dhat.py $< $(call perf_dir,$*,dhat))

annotate: $(call per_unit,annotate)
%-annotate: $(OUT)/%/bench-plain | deps-perf
	@SOURCE=$(call unit_source,$*) profiles/perf.sh annotate $< $(call perf_dir,$*,annotate)

# The request path's files, built as the benchmark is, with the report on.
optinfo: $(call per_unit,optinfo)
%-optinfo: $$(call unit_source,$$*) $(BENCH_SOURCES) bench/alloc_count_none.c $(HEADERS) | deps-build
	@profiles/optinfo.py $(call perf_dir,$*,optinfo) $(call unit_source,$*) -- $(CC) $(CFLAGS_COMMON) \
	  $(OPTIMIZE) $(filter %.c,$^) $(LIBS)

# The stall civet_writer.c avoids: the last stage's server built to send
# headers and body in two writes with Nagle's algorithm on, against the
# usual one, each under one keep-alive client.
$(OUT)/nagle/server: $(call stage_dir,$(LAST_STAGE))/hi.c $(SERVER_SOURCES) $(HEADERS) | deps-build
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -DNAGLE_DEMO=1 -o $@ $(filter %.c,$^) $(LIBS)

# Where its reports go: the smoke run inside make test writes elsewhere,
# so that it never replaces a real measurement (the deck shows this one).
NAGLE_OUT ?= $(OUT)/nagle
nagle: $(OUT)/nagle/server $(OUT)/stage$(LAST_STAGE)/server | deps-bench
	@echo "=== one keep-alive client, stage $(LAST_STAGE)'s server: two writes with Nagle on, then one write"
	@mkdir -p $(NAGLE_OUT) && for server in $^; do \
	  WRK_THREADS=1 WRK_CONNECTIONS=1 DURATION=$(or $(DURATION),3s) bench/load.sh $$server \
	    >$(NAGLE_OUT)/$$(basename $$(dirname $$server)).txt || { cat $(NAGLE_OUT)/*.txt; exit 1; }; \
	done
	@{ printf '%-44s %s\n' "headers and body in two writes, Nagle on:" "$$(tail -n 1 $(NAGLE_OUT)/nagle.txt)" \
	  "the whole response in one write:" "$$(tail -n 1 $(NAGLE_OUT)/stage$(LAST_STAGE).txt)"; \
	  echo "(the second write waits for the client's delayed ACK of the first, about 40 ms on Linux)"; } \
	  | tee $(NAGLE_OUT)/report.txt

# ============================ Smoke run inside `make test` ====================
# Every tool above once, briefly, each checked for what it must show; where
# perf may not run here, the perf ones are reported as skipped, with why.
PERF_SMOKE := $(OUT)/perf-smoke
perf_smoke_run = BENCHTIME=0.5s DURATION=1s $(1) >$(PERF_SMOKE)/$(2).txt 2>&1 \
	|| { cat $(PERF_SMOKE)/$(2).txt; echo "FAIL: make $(2)"; exit 1; }
perf-smoke: $(OUT)/stage1/bench-plain $(OUT)/stage$(LAST_STAGE)/bench-plain $(OUT)/stage$(LAST_STAGE)/server \
            $(OUT)/nagle/server $(OUT)/stage4/bench-cpu $(CONTENTION_LIB) $(JS_READY) | deps-perf deps-bench
	@echo "--- the C tools: dhat and optinfo; perf's flame, flame-server, stat, syscalls, offcpu, annotate; nagle"
	@rm -rf $(PERF_SMOKE) $(OUT)/skipped/perf-smoke.txt && mkdir -p $(PERF_SMOKE)
	@$(call perf_smoke_run,profiles/dhat.py $(OUT)/stage1/bench-plain $(PERF_SMOKE)/dhat,dhat)
	@$(call expect_in,$(PERF_SMOKE)/dhat.txt,^ *20.480 B .*pcre2_match_8,stage 1 DHAT: the frame vector)
	@$(call perf_smoke_run,$(MAKE) --no-print-directory stage$(LAST_STAGE)-optinfo,optinfo)
	@$(call expect_in,$(PERF_SMOKE)/optinfo.txt,query_color,stage $(LAST_STAGE) optinfo: the call into query.c)
	@$(call perf_smoke_run,$(MAKE) --no-print-directory nagle DURATION=1s NAGLE_OUT=$(PERF_SMOKE)/nagle,nagle)
	@grep -q 'two writes.*p50 [1-9][0-9][0-9]*\.[0-9]* ms' $(PERF_SMOKE)/nagle.txt \
	  && grep -q 'one write.*p50 [0-4]\.[0-9]* ms' $(PERF_SMOKE)/nagle.txt \
	  || { cat $(PERF_SMOKE)/nagle.txt; echo "FAIL: make nagle did not show a stall of tens of ms against a fast one write"; exit 1; }
	@status=0; profiles/perf.sh stat $(OUT)/stage$(LAST_STAGE)/bench-plain $(PERF_SMOKE)/stat \
	  >$(PERF_SMOKE)/stat.txt 2>&1 || status=$$?; \
	if [ $$status = 3 ]; then \
	  mkdir -p $(OUT)/skipped; sed -n 1p $(PERF_SMOKE)/stat.txt >$(OUT)/skipped/perf-smoke.txt; \
	  echo "perf smoke run: SKIPPED: $$(cat $(OUT)/skipped/perf-smoke.txt)"; exit 0; \
	elif [ $$status != 0 ]; then cat $(PERF_SMOKE)/stat.txt; echo "FAIL: make stat"; exit 1; fi; \
	$(call expect_in,$(PERF_SMOKE)/stat.txt,task-clock .* ns per call,perf stat); \
	$(call perf_smoke_run,profiles/perf.sh flame $(OUT)/stage1/bench-plain $(PERF_SMOKE)/flame,flame); \
	head -n 1 $(PERF_SMOKE)/flame/widest.txt | grep -q pcre2_compile \
	  || { cat $(PERF_SMOKE)/flame.txt; echo "FAIL: stage 1's flame graph: pcre2_compile is not the widest frame under hi_handle"; exit 1; }; \
	$(call perf_smoke_run,profiles/perf.sh flame-server $(OUT)/stage$(LAST_STAGE)/server $(PERF_SMOKE)/flame-server,flame-server); \
	head -n 1 $(PERF_SMOKE)/flame-server/widest.txt | grep -q mg_write \
	  || { cat $(PERF_SMOKE)/flame-server.txt; echo "FAIL: stage $(LAST_STAGE)'s server flame graph: the write to the socket (mg_write) is not the widest frame under handle_request"; exit 1; }; \
	$(call perf_smoke_run,profiles/perf.sh syscalls $(OUT)/stage$(LAST_STAGE)/server $(PERF_SMOKE)/syscalls,syscalls); \
	$(call expect_in,$(PERF_SMOKE)/syscalls.txt,^  recvfrom *1\.0,the live server's system calls per request); \
	$(call perf_smoke_run,profiles/perf.sh offcpu $(OUT)/stage$(LAST_STAGE)/server $(PERF_SMOKE)/offcpu,offcpu); \
	$(call expect_in,$(PERF_SMOKE)/offcpu.txt,civetweb-worker *poll,where the server's threads wait); \
	$(call perf_smoke_run,SOURCE=$(call stage_dir,$(LAST_STAGE))/hi.c profiles/perf.sh annotate $(OUT)/stage$(LAST_STAGE)/bench-plain $(PERF_SMOKE)/annotate,annotate); \
	$(call expect_in,$(PERF_SMOKE)/annotate.txt,hottest function of our own code: ,perf annotate); \
	$(call perf_smoke_run,BENCHTIME=0.5s profiles/block_check.sh $(OUT)/stage4/bench-cpu $(CONTENTION_LIB) $(PERF_SMOKE)/block-check,block-check); \
	$(call expect_in,$(PERF_SMOKE)/block-check.txt,^PASS: the profiler saw every lock call,the contention profiler against the kernel); \
	for png in $(PERF_SMOKE)/flame/flame.png $(PERF_SMOKE)/flame-server/flame.png; do \
	  [ ! -e $$png ] || file $$png | grep -q 'PNG image' || { echo "FAIL: $$png is not a PNG"; exit 1; }; \
	done
	@echo "C tools smoke run: each showed what it must (DHAT's 20 KB frame vector, the call into query.c," \
	  "a Nagle stall, pcre2_compile widest in stage 1 and the socket write in the server," \
	  "one recvfrom per request, workers waiting in poll, the contention profiler against the kernel)"

TEST_EXTRAS += perf-smoke
TEST_EXTRA_BINARIES += $(OUT)/nagle/server
