# mk/web.mk - a profile to explore, and what changed between two units
# (profiles/README.md, "See what changed").
#
#   UNIT-web    pprof's web viewer on the unit's CPU and heap profiles:
#               flame graph, top, call graph, source and disassembly,
#               every value per 1,000,000 calls (profiles/web.sh)
#   webdiff     the same on what changed from OLD to NEW (pprof -diff_base)
#   flamediff   differential flame graphs from OLD to NEW: instructions
#               (callgrind, exact), or METRIC=time (perf's samples, ns per
#               call, both taken now, side by side)
#   web-smoke   make test's check of all three, by what they show
#
# OLD and NEW name a stage (1 to 6), work or challenge. The viewer is
# google/pprof, built from Debian's source package with Debian's Go
# (profiles/build-pprof.sh): it reads the gperftools profiles the other
# targets write, names functions with binutils (`go tool pprof` names
# nothing in Debian's stripped libraries) and disassembles in their syntax.

WEB_PORT ?= 8081
METRIC ?= instructions
PPROF := $(OUT)/tools/pprof
PPROF_SOURCE := /usr/share/gocode/src/github.com/google/pprof

# OLD and NEW: as benchcmp's (mk/measure.mk).
ifneq ($(filter flamediff,$(MAKECMDGOALS)),)
  ifeq ($(filter instructions time,$(METRIC)),)
    $(error METRIC=$(METRIC): want instructions or time)
  endif
endif

# The viewer, built once; again when Debian updates its source.
$(PPROF): $(wildcard $(PPROF_SOURCE)/driver/driver.go) profiles/build-pprof.sh | deps-web
	@profiles/build-pprof.sh $(PPROF_SOURCE) $@

# Instructions by call stack (callgrind --separate-callers), kept as
# instr.json is, keyed on the binary, the environment and instr.py.
$(OUT)/%/instr/stacks.json: $(OUT)/%/bench-uncounted bench/instr.py recheck | deps-bench
	@mkdir -p $(@D)
	@bench/instr.py stacks $< $(@D) >$(@D)/stacks.txt || { cat $(@D)/stacks.txt; exit 1; }

.PHONY: web webdiff flamediff web-smoke
web: $(call per_unit,web)
%-web: $(OUT)/%/bench-cpu $(OUT)/%/bench-heap $(PPROF) | deps-profile
	@profiles/web.sh $(PPROF) $(HOST) $(WEB_PORT) $(OUT)/$*

webdiff: $(OUT)/$(OLD_UNIT)/bench-cpu $(OUT)/$(OLD_UNIT)/bench-heap $(OUT)/$(NEW_UNIT)/bench-cpu \
         $(OUT)/$(NEW_UNIT)/bench-heap $(PPROF) | deps-profile
	@profiles/web.sh $(PPROF) $(HOST) $(WEB_PORT) $(OUT)/$(NEW_UNIT) $(OUT)/$(OLD_UNIT)

FLAMEDIFF_DIR = $(OUT)/flamediff/$(METRIC)-$(OLD_UNIT)-$(NEW_UNIT)
flamediff: flamediff-$(METRIC)
.PHONY: flamediff-instructions flamediff-time
flamediff-instructions: $(OUT)/$(OLD_UNIT)/instr/stacks.json $(OUT)/$(NEW_UNIT)/instr/stacks.json | deps-perf
	@profiles/flamediff.py instructions $(FLAMEDIFF_DIR) "$(call unit_label,$(OLD))" \
	  $(OUT)/$(OLD_UNIT)/instr/stacks.json "$(call unit_label,$(NEW))" $(OUT)/$(NEW_UNIT)/instr/stacks.json
# Both units sampled now, one after the other (a profile from another
# hour would measure another machine), each kept in its own folder, so
# that OLD=NEW compares two runs: what the noise alone looks like.
flamediff-time: $(OUT)/$(OLD_UNIT)/bench-uncounted $(OUT)/$(NEW_UNIT)/bench-uncounted | deps-perf
	@rm -rf $(FLAMEDIFF_DIR) && mkdir -p $(FLAMEDIFF_DIR)/old $(FLAMEDIFF_DIR)/new
	@for side in old:$(OLD_UNIT) new:$(NEW_UNIT); do \
	  unit=$${side#*:}; dir=$(FLAMEDIFF_DIR)/$${side%%:*}; \
	  echo "(sampling $$unit: make $$unit-flame, its report in $$dir/flame.txt)"; \
	  $(MAKE) --no-print-directory $$unit-flame >$$dir/flame.txt 2>&1 \
	    || { status=$$?; cat $$dir/flame.txt; exit $$status; }; \
	  cp $(OUT)/$$unit/perf/flame/stacks.json $(OUT)/$$unit/perf/flame/bench.txt $$dir/; \
	done
	@profiles/flamediff.py time $(FLAMEDIFF_DIR) "$(call unit_label,$(OLD))" $(FLAMEDIFF_DIR)/old \
	  "$(call unit_label,$(NEW))" $(FLAMEDIFF_DIR)/new

# ============================ Smoke run inside `make test` ====================
# flamediff 1 -> 2 must show pcre2_compile gone, in its words and in blue;
# the viewer must serve a flame graph with pcre2's functions named, the
# source and the disassembly of hi_handle, and a diff in which stage 2
# spends less in pcre2_compile.
WEB_SMOKE_BINARIES := $(foreach n,1 2,$(OUT)/stage$(n)/bench-cpu $(OUT)/stage$(n)/bench-heap)

# (Without Go, pprof's rule says SKIPPED and the smoke run says so too.)
web-smoke: $(WEB_SMOKE_BINARIES) $(OUT)/stage1/instr/stacks.json $(OUT)/stage2/instr/stacks.json \
           | deps-profile deps-perf
	@echo "--- web smoke run: flamediff 1 -> 2 by its words and its pixels; pprof's viewer on stage 1"
	@echo "    and on 1 -> 2 (flame graph, names in libpcre2, source, disassembly, the diff)"
	@$(MAKE) --no-print-directory $(PPROF) || true
	@profiles/web-smoke.sh $(OUT) $(PPROF)

SMOKE_RUNS += web-smoke
SMOKE_BINARIES += $(WEB_SMOKE_BINARIES)
