# mk/perf.mk - the C field's own tools: Linux perf, valgrind's DHAT, strace,
# and the compiler's report.
#
#   UNIT-flame         perf record --call-graph dwarf over BenchmarkHi: an offline flame graph
#   UNIT-flame-server  the same for the live server under wrk
#   UNIT-stat          perf stat's counters per call of BenchmarkHi, top-down level 1
#   UNIT-cachelines    which variables share the visitor counter's cache line (nm)
#   UNIT-c2c           perf c2c under BenchmarkHiParallel: the lines CPUs fight over
#   UNIT-syscalls      the live server's system calls per request
#   UNIT-offcpu        where the live server's threads wait
#   UNIT-dhat          valgrind's DHAT: per allocation site, bytes and use
#   UNIT-annotate      perf annotate of the hottest function of our code
#   UNIT-optinfo       which calls the compiler did not inline, and why
#   nagle              the Nagle stall, measured: two writes against one
#
# Output goes to out/UNIT/perf/KIND/ (profiles/perf.sh and friends).

perf_dir = $(OUT)/$(1)/perf/$(2)

.PHONY: flame flame-server stat cachelines c2c syscalls offcpu dhat annotate optinfo nagle perf-smoke
flame: $(call per_unit,flame)
%-flame: $(OUT)/%/bench-uncounted $(JS_READY) | deps-perf
	@$(call report_to,$(call perf_dir,$*,flame),profiles/perf.sh flame $< $(call perf_dir,$*,flame))

flame-server: $(call per_unit,flame-server)
%-flame-server: $(OUT)/%/server $(JS_READY) | deps-perf deps-bench
	@$(call report_to,$(call perf_dir,$*,flame-server),profiles/perf.sh flame-server $< $(call perf_dir,$*,flame-server))

stat: $(call per_unit,stat)
%-stat: $(OUT)/%/bench-uncounted | deps-perf
	@$(call report_to,$(call perf_dir,$*,stat),profiles/perf.sh stat $< $(call perf_dir,$*,stat))

cachelines: $(call per_unit,cachelines)
%-cachelines: $(OUT)/%/server $(OUT)/%/hi.o
	@profiles/cachelines.py $^ $(call perf_dir,$*,cachelines)

c2c: $(call per_unit,c2c)
# Where the CPU cannot sample memory, or perf may not, it says so in one
# SKIPPED line, and make goes on (perf.sh's status 3).
%-c2c: $(OUT)/%/bench-uncounted $(OUT)/%/hi.o | deps-perf
	@profiles/perf.sh c2c $< $(call perf_dir,$*,c2c) || [ $$? = 3 ]

syscalls: $(call per_unit,syscalls)
%-syscalls: $(OUT)/%/server | deps-perf deps-bench
	@$(call report_to,$(call perf_dir,$*,syscalls),profiles/perf.sh syscalls $< $(call perf_dir,$*,syscalls))

offcpu: $(call per_unit,offcpu)
%-offcpu: $(OUT)/%/server | deps-perf deps-bench
	@$(call report_to,$(call perf_dir,$*,offcpu),profiles/perf.sh offcpu $< $(call perf_dir,$*,offcpu))

dhat: $(call per_unit,dhat)
%-dhat: $(OUT)/%/bench-uncounted | deps-perf
	@$(call report_to,$(call perf_dir,$*,dhat),profiles/dhat.py $< $(call perf_dir,$*,dhat))

annotate: $(call per_unit,annotate)
%-annotate: $(OUT)/%/bench-uncounted | deps-perf
	@SOURCE=$(call unit_source,$*) profiles/perf.sh annotate $< $(call perf_dir,$*,annotate)

# The request path's files, built as the benchmark is, with the report on.
optinfo: $(call per_unit,optinfo)
%-optinfo: $(BENCH_SOURCES) bench/alloc_count_none.c tests/unit.c $(HEADERS) | deps-build
	@profiles/optinfo.py $(call perf_dir,$*,optinfo) $(call unit_source,$*) -- $(CC) $(CFLAGS_COMMON) \
	  $(OPTIMIZE) $(call unit_flags,$*) $(filter %.c,$^) $(LIBS)

# The stall civet_writer.c avoids: the last stage's server built to send
# headers and body in two writes with Nagle's algorithm on, against the
# usual one, each under one keep-alive client.
$(OUT)/nagle/server: $(call stage_dir,$(LAST_STAGE))/hi.c $(SERVER_SOURCES) $(HEADERS) | deps-build
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) $(OPTIMIZE) -DNAGLE_DEMO=1 -o $@ $(filter %.c,$^) $(LIBS)

# Where its reports go: the smoke run inside make test writes elsewhere,
# so that it never replaces a real measurement (the deck shows this one).
NAGLE_OUT ?= $(OUT)/nagle
nagle: $(OUT)/nagle/server $(OUT)/stage$(LAST_STAGE)/server | deps-bench
	@echo "=== one keep-alive client, stage $(LAST_STAGE)'s server: two writes with Nagle on, then one write"
	@mkdir -p $(NAGLE_OUT) && for server in $^; do \
	  WRK_THREADS=1 WRK_CONNECTIONS=1 DURATION=$(or $(DURATION),3s) bench/load.sh $$server \
	    >$(NAGLE_OUT)/$$(basename $$(dirname $$server)).txt || { cat $(NAGLE_OUT)/*.txt; exit 1; }; \
	done
	@{ printf '%-23s %s\n' "two writes, Nagle on:" "$$(tail -n 1 $(NAGLE_OUT)/nagle.txt)" \
	  "the response in one:" "$$(tail -n 1 $(NAGLE_OUT)/stage$(LAST_STAGE).txt)"; \
	  echo "(the second write waits for the client's delayed ACK of the first, about 40 ms on Linux)"; } \
	  | tee $(NAGLE_OUT)/report.txt

# ============================ Smoke run inside `make test` ====================
# Every tool above once, briefly, each checked for what it must show
# (profiles/perf-smoke.sh); the perf runs this machine does not allow are
# reported as skipped, with why.
perf-smoke: $(foreach unit,$(STAGE_UNITS) challenge-given,$(OUT)/$(unit)/bench-uncounted) \
            $(OUT)/stage$(LAST_STAGE)/server $(OUT)/nagle/server $(OUT)/stage4/bench-cpu $(CONTENTION_LIB) \
            $(JS_READY) | deps-perf deps-bench
	@echo "--- the C tools: dhat, optinfo, nagle; perf's flame (every stage), flame-server, stat,"
	@echo "    syscalls, offcpu, annotate"
	@profiles/perf-smoke.sh $(OUT) $(LAST_STAGE) $(call stage_dir,$(LAST_STAGE))/hi.c

# The hardware's side: the counter's cache lines in stages 5 and the last
# (free of false sharing), stage 3's printed, and the live server's CPU
# split, checked by what they show (profiles/hardware-smoke.sh).
.PHONY: hardware-smoke c2c-smoke
hardware-smoke: $(foreach stage,3 5 $(LAST_STAGE),$(OUT)/stage$(stage)/server $(OUT)/stage$(stage)/hi.o) \
                $(OUT)/stage$(LAST_STAGE)/bench-uncounted \
                $(OUT)/stage$(LAST_STAGE)/server $(OUT)/stage$(LAST_STAGE)/bench | deps-bench deps-perf
	@echo "--- the hardware: the counter's cache lines, make visitcount; the live server's CPU, latency"
	@profiles/hardware-smoke.sh $(OUT) $(LAST_STAGE)

SMOKE_RUNS += hardware-smoke

# perf c2c once, briefly, on the last stage: where the CPU samples memory
# accesses, a report of the lines CPUs took from each other; elsewhere
# (a virtual machine, most of them) one line that says so, and skipped.
c2c-smoke: $(OUT)/stage$(LAST_STAGE)/bench-uncounted $(OUT)/stage$(LAST_STAGE)/hi.o | deps-perf
	@echo "--- perf c2c: the cache lines the CPUs fight over, where the CPU can sample memory"
	@rm -f $(OUT)/skipped/c2c-smoke.txt; mkdir -p $(OUT)/c2c-smoke $(OUT)/skipped; status=0; \
	BENCHTIME=0.5s profiles/perf.sh c2c $< $(OUT)/c2c-smoke >$(OUT)/c2c-smoke/out.txt 2>&1 || status=$$?; \
	case $$status in \
	0) grep -q '^c2c: .*HITM' $(OUT)/c2c-smoke/out.txt && grep -q '^visitor_count' $(OUT)/c2c-smoke/out.txt \
	     || { cat $(OUT)/c2c-smoke/out.txt; echo "FAIL: perf c2c: no HITM count, or no layout"; exit 1; }; \
	   grep '^c2c: ' $(OUT)/c2c-smoke/out.txt ;; \
	3) [ "$$(grep -c 'SKIPPED' $(OUT)/c2c-smoke/out.txt)" = 1 ] \
	     || { cat $(OUT)/c2c-smoke/out.txt; echo "FAIL: perf c2c: want one SKIPPED line"; exit 1; }; \
	   grep -o 'SKIPPED: .*' $(OUT)/c2c-smoke/out.txt | sed 's/^SKIPPED: /c2c-smoke: /' >$(OUT)/skipped/c2c-smoke.txt; \
	   cat $(OUT)/c2c-smoke/out.txt ;; \
	*) cat $(OUT)/c2c-smoke/out.txt; echo "FAIL: perf c2c (exit status $$status)"; exit 1 ;; \
	esac

SMOKE_RUNS += c2c-smoke

# perf-allow: what the perf targets need, for a user who is not root,
# until the next reboot (profiles/perf-allow.sh).
.PHONY: perf-allow
perf-allow:
	@profiles/perf-allow.sh

SMOKE_RUNS += perf-smoke

# The perf stat reader against what perf prints on machines this is not:
# an Intel hybrid laptop, AMD, Intel, a VM (profiles/testdata/perf-stat/);
# the top-down reader against real runs on Intel, Intel hybrid, AMD Zen 4
# and Arm Neoverse (profiles/testdata/topdown/); the perf c2c reader
# against real reports of Intel and AMD machines (profiles/testdata/c2c/);
# the system call reader against perf trace's and strace's summaries,
# one of which lost events (profiles/testdata/syscalls/); the ranking of
# flame graph frames, on a tree made to tie.
.PHONY: perfreport-test
perfreport-test:
	@echo "--- perfreport.py: perf stat as Intel hybrid, AMD, Intel and a VM print it, top-down"
	@echo "    level 1 and perf c2c as real machines printed them; perf trace's and strace's summaries;"
	@echo "    flame graph ranking"
	@python3 profiles/test_perfreport.py

SMOKE_RUNS += perfreport-test
SMOKE_BINARIES += $(OUT)/nagle/server
