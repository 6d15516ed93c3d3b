# Profiling & Optimizing in C
#
#   make run               stage 1's server on http://127.0.0.1:8080/hi
#   make test              every test, against every stage
#   make stage3 test       one target for one stage (run, race, bench, ...)
#   make work FROM=2       copy stage 2 into work/ and do its exercise
#   make help              every target
#
# Options, on the command line (make stage3 bench BENCHTIME=2s) or in the
# environment:
#   PORT=8080        where run listens (0: any free port)
#   HOST=127.0.0.1   the address run listens on (on make's command line);
#                    0.0.0.0 inside a container,
#                    so that the host's browser reaches it through -p 8080:8080
#   BENCH=regex      which benchmarks run, like go test -bench
#   BENCHTIME=1s     how long each benchmark runs, or a count: 1000x
#   COUNT=           runs per stage: benchcmp (10), compare (6), bench (1)
#   CC=cc            the compiler; CC=clang works as well
#   OPTIMIZE=-O2     the optimization flags, e.g. OPTIMIZE="-O3 -flto";
#                    other values build into out/<flags>/, apart
#   OLD=1 NEW=2      what benchcmp, instrcmp, flamediff and webdiff compare:
#                    a stage's number, work or challenge
#   N=3              the stage diff shows
#   FROM=2           the stage make work copies (a changed work/hi.c is
#                    kept aside); FORCE=1 makes make challenge start again
#   DURATION=5s      how long wrk loads the live server
#   WEB_PORT=8081    where make stageN web and make webdiff serve pprof's viewer
#   METRIC=time      what make flamediff compares: instructions (the default) or time
#   FUZZTIME=60      seconds of make fuzz
#   WERROR=1         warnings are errors (CI and the maintainers' checks);
#                    off by default, so a newer compiler's warning only prints
#   DISTRO=trixie    the Debian release make fresh-check bootstraps
#   V=1              print every compile command in full, not "CC out/..."
#
# Everything built or measured goes under out/, which git ignores. Each
# area lives in its own file under mk/; mk/deps.sh installs the Debian
# packages a target needs the first time it runs.

SHELL := /bin/bash
# One job at a time, even under make -j: measurements must not run side by
# side. The compiles inside make test run in parallel on their own.
ifndef BUILD_IN_PARALLEL
.NOTPARALLEL:
endif
# A recipe line like `tests | tee log` fails when the tests do.
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
.SUFFIXES:

PORT ?= 8080
IN_CONTAINER := $(wildcard /.dockerenv /run/.containerenv)
# Only from the command line (make run HOST=...): some shells export HOST
# as the machine's name.
HOST := $(if $(filter command line,$(origin HOST)),$(HOST),$(if $(IN_CONTAINER),0.0.0.0,127.0.0.1))
CC ?= cc
DEFAULT_OPTIMIZE := -O2
OPTIMIZE ?= $(DEFAULT_OPTIMIZE)
WORK ?= work
export BENCH BENCHTIME COUNT

include mk/stages.mk
include mk/deps.mk
include mk/build.mk
include mk/run.mk
include mk/js.mk
include mk/measure.mk
include mk/profile.mk
include mk/reliability.mk
include mk/slides.mk
include mk/perf.mk
include mk/web.mk
include mk/work.mk
include mk/challenge.mk
include mk/exercises.mk
include mk/units.mk
include mk/test.mk

# What is made along the way (objects, a bench-uncounted for an
# instruction count) is kept, never deleted as an intermediate file.
# Only files: the per-unit actions, stage3-test and the like, must stay
# ordinary targets, or make would run them after everything else. (They
# are pattern rules: make cannot mark those .PHONY, so no file may be
# named like one.)
.SECONDARY: $(foreach unit,$(ALL_UNITS),$(addprefix $(OUT)/$(unit)/,$(UNIT_FILES))) $(SHARED_OBJECTS)

.PHONY: help
help:
	@echo "Profiling & Optimizing in C: one HTTP handler, $(words $(ALL_STAGES)) stages"
	@echo
	@echo "  make run                  stage 1's server on http://127.0.0.1:$(PORT)/hi"
	@echo "  make test                 every test against every stage, and the smoke runs"
	@echo
	@echo "Per stage: make stageN TARGET (without stageN: test takes all stages, the rest stage 1)"
	@echo "  (blockprofile-check alone: stage 4, where the lock is)"
	@echo "  run                       the server"
	@echo "  test                      the shared suite and the stage's lesson, measured"
	@echo "  suite                     the shared suite alone (CK_RUN_CASE=race: one test case)"
	@echo "  lesson                    the stage's lesson alone: its instruction count, its allocations"
	@echo "  race                      like go test -race: ThreadSanitizer, then the harm without it"
	@echo "  bench                     Go-style benchmarks: ns/op, B/op, allocs/op"
	@echo "  instr                     instructions per request (callgrind): exact, every run"
	@echo "  load                      the live server under wrk"
	@echo "  cpusplit                  the live server: utilisation, then a request's CPU, part by part"
	@echo "  latency                   the live server's p50 and p99 against the rate offered (open loop)"
	@echo "  profile                   CPU profile of BenchmarkHi: top, list, disasm, call graph"
	@echo "  memprofile                what BenchmarkHi allocates (tcmalloc's heap profiler)"
	@echo "  blockprofile              mutex contention under BenchmarkHiParallel"
	@echo "  blockprofile-check        the contention profile against the lock calls the kernel put to sleep"
	@echo "  profile-server            CPU profile of the live server under wrk"
	@echo "  cover                     coverage of the shared suite"
	@echo "  optcmp                    OPTIMIZE=\"-O3 -flto\" against -O2: time and instructions"
	@echo "  pgo                       profile-guided optimization (gcc), against -O2"
	@echo "  diff                      the lesson: this stage's hi.c against the one before"
	@echo "  bench-smoke               every benchmark briefly (part of make test)"
	@echo
	@echo "The C field's tools, per stage (out/stageN/perf/):"
	@echo "  flame                     perf record --call-graph dwarf over BenchmarkHi: a flame graph, and a PNG"
	@echo "  flame-server              the same for the live server under wrk"
	@echo "  stat                      perf stat's counters per call, top-down level 1 (where the CPU has them)"
	@echo "  cachelines                what shares the visitor counter's cache line (nm)"
	@echo "  c2c                       perf c2c: the cache lines the CPUs take from each other"
	@echo "  syscalls                  the live server's system calls per request, failing ones marked"
	@echo "  offcpu                    where the live server's threads wait, and for how long"
	@echo "  dhat                      valgrind's DHAT: per allocation site, bytes, reads, writes, lifetime"
	@echo "  annotate                  perf annotate of the hottest function of our own code"
	@echo "  optinfo                   the calls the compiler did not inline, and why (-fopt-info)"
	@echo "  make nagle                two writes with Nagle on against one write: the 40 ms stall"
	@echo "  make perf-allow           let perf sample and trace as you, until the next reboot (sudo)"
	@echo "  web                       pprof's web viewer on the CPU and heap profiles: flame graph,"
	@echo "                            source, disassembly (http://127.0.0.1:$(WEB_PORT); WEB_PORT=)"
	@echo "  (make stage3-test, stage3-bench, ... are the same targets by their own names)"
	@echo
	@echo "Your workspace: make work FROM=N copies stage N to work/hi.c; then make work TARGET"
	@echo "  test                      stage N's exercise: the suite, checked as stage N+1"
	@echo "  bench race instr profile  as for a stage"
	@echo "  cmp                       your work against stage N and stage N+1, with p-values"
	@echo "  diff                      your change against stage N"
	@echo "  solution                  the reference change, stage N to N+1"
	@echo
	@echo "The challenge: a server with problems nobody names (challenge/README.md)"
	@echo "  make challenge            copy it to work/challenge/hi.c, the one file you edit"
	@echo "  make challenge test       the suite, then each problem, measured: still there, or fixed"
	@echo "  make challenge hint       one hint at a time (PROBLEM=2: for the second problem left)"
	@echo "  make challenge diff       your changes;  make challenge solution: the reference fix"
	@echo "  make challenge TARGET     bench, instr, profile, memprofile, blockprofile, syscalls, ..."
	@echo
	@echo "Across stages:"
	@echo "  make benchcmp OLD=1 NEW=2 both stages COUNT=10 times, benchstat's table with p-values"
	@echo "  make instrcmp OLD=1 NEW=2 instructions per request, function by function"
	@echo "  make flamediff OLD=1 NEW=2  differential flame graphs: red grew, blue shrank"
	@echo "                            (instructions; METRIC=time: perf's samples; NEW=work, challenge)"
	@echo "  make webdiff OLD=1 NEW=2  pprof's web viewer on what changed from OLD to NEW"
	@echo "  make compare              every stage: out/compare/compare.md and compare.png"
	@echo "  make visitcount           ways to count visitors from every CPU, side by side, p-values"
	@echo "  make diff N=3             what stage 3 changed"
	@echo "  make slides               the deck, from your own measurements: out/slides/index.html"
	@echo "  make slides-test          the deck in headless Chromium, checked slide by slide"
	@echo "  make sanitize             the suite under ASan+LSan+UBSan, every stage, gcc and clang"
	@echo "  make fuzz                 differential fuzzing of every stage (FUZZTIME=60)"
	@echo "  make build                every stage's server"
	@echo "  make deps                 install every Debian package any target needs"
	@echo "  make deps-GROUP           only one group's: $(DEPS_GROUPS)"
	@echo "  make clean                remove out/"
	@echo "  make reference            (maintainers) retake every measurement the deck and README show"
	@echo "  make fresh-check DISTRO=bookworm  (maintainers) the README's two commands on a new Debian"
	@echo "  make agenda-check RUNS=3  (maintainers) the agenda's commands, timed quiet and busy, <= 100 columns"
	@echo
	@echo "The smoke runs inside make test, each runnable alone:"
	@echo "  make bench-smoke  make profile-smoke  make perf-smoke  make fuzz-smoke  make work-smoke"
	@echo "  make exercise-check (every exercise fails as copied, and passes with correct changes)"
	@echo "  make slides-test  make slides-fixture-test  make offline-smoke  make hardened-smoke"
	@echo "  make perfreport-test  make benchstats-test  make title-check  make docs-check  make web-smoke"
	@echo "  make hardware-smoke  make c2c-smoke"
	@echo
	@echo "Stages (stages/stages.txt):"
	@$(foreach n,$(ALL_STAGES),printf '  stage%-3s %-20s %s\n' "$(n)" "$(call stage_folder,$(n))" "$(call stage_title,$(n))";)
