# mk/slides.mk - the deck: slides/slides.md, built by pandoc into a
# reveal.js presentation that works offline (slides/build.py).
#
#   slides        from your own measurements, running what is missing
#   slides-test   from the reference measurements, checked in Chromium

SLIDES_OUT := $(OUT)/slides

# What the deck shows, made only when missing (order-only): a stale
# picture is still a real measurement, and redoing them all takes
# minutes. `rm -rf out/compare out/stage*/profiles out/stage*/perf` to
# start afresh. A measurement that cannot be taken here (perf not allowed,
# say) leaves the deck with the reference copy, which says so on its slide.
SLIDES_INPUTS := $(OUT)/compare/compare.json $(OUT)/benchcmp/stage1-vs-stage2/benchstat.txt \
  $(foreach n,1 2,$(OUT)/stage$(n)/profiles/cpu-slide.png) $(OUT)/stage1/profiles/mem-slide.png \
  $(foreach n,4 5,$(OUT)/stage$(n)/profiles/block-slide.png) \
  $(OUT)/stage3/profiles/cover/summary.txt $(OUT)/stage1/race.txt $(OUT)/stage1/perf/flame/flame.png \
  $(OUT)/stage$(LAST_STAGE)/perf/flame-server/flame.png $(OUT)/stage1/perf/dhat/report.txt \
  $(OUT)/stage4/block-check/report.txt $(OUT)/stage$(LAST_STAGE)/perf/syscalls/report.txt \
  $(OUT)/stage$(LAST_STAGE)/perf/offcpu/report.txt $(OUT)/stage$(LAST_STAGE)/cpusplit/report.txt \
  $(OUT)/stage$(LAST_STAGE)/latency/latency.png \
  $(OUT)/nagle/report.txt \
  $(OUT)/stage$(LAST_STAGE)/pgo/report.txt $(OUT)/flamediff/instructions-stage1-stage2/old.png \
  $(OUT)/flamediff/instructions-stage5-stage6/new.png

$(OUT)/compare/compare.json:
	-$(MAKE) --no-print-directory compare
$(OUT)/benchcmp/stage1-vs-stage2/benchstat.txt:
	-$(MAKE) --no-print-directory benchcmp OLD=1 NEW=2
$(OUT)/%/profiles/cpu-slide.png:
	-$(MAKE) --no-print-directory $*-profile
$(OUT)/%/profiles/mem-slide.png:
	-$(MAKE) --no-print-directory $*-memprofile
$(OUT)/%/profiles/block-slide.png:
	-$(MAKE) --no-print-directory $*-blockprofile
$(OUT)/%/profiles/cover/summary.txt:
	-$(MAKE) --no-print-directory $*-cover
$(OUT)/%/race.txt:
	-$(MAKE) --no-print-directory $*-race
$(OUT)/%/perf/flame/flame.png:
	-$(MAKE) --no-print-directory $*-flame
$(OUT)/%/perf/flame-server/flame.png:
	-$(MAKE) --no-print-directory $*-flame-server
$(OUT)/%/perf/dhat/report.txt:
	-$(MAKE) --no-print-directory $*-dhat
$(OUT)/%/block-check/report.txt:
	-$(MAKE) --no-print-directory $*-blockprofile-check
$(OUT)/%/perf/syscalls/report.txt:
	-$(MAKE) --no-print-directory $*-syscalls
$(OUT)/%/perf/offcpu/report.txt:
	-$(MAKE) --no-print-directory $*-offcpu
$(OUT)/%/cpusplit/report.txt:
	-$(MAKE) --no-print-directory $*-cpusplit
$(OUT)/%/latency/latency.png:
	-$(MAKE) --no-print-directory $*-latency
$(OUT)/nagle/report.txt:
	-$(MAKE) --no-print-directory nagle
$(OUT)/%/pgo/report.txt:
	-$(MAKE) --no-print-directory $*-pgo
$(OUT)/flamediff/instructions-stage1-stage2/old.png:
	-$(MAKE) --no-print-directory flamediff OLD=1 NEW=2
$(OUT)/flamediff/instructions-stage5-stage6/new.png:
	-$(MAKE) --no-print-directory flamediff OLD=5 NEW=6

.PHONY: slides slides-test
slides: $(JS_READY) | $(SLIDES_INPUTS)
	@OUT=$(OUT) slides/build.py $(SLIDES_OUT)
	@echo "open $(SLIDES_OUT)/index.html in a browser (works offline)"

# The browser test inside make test: the deck from the committed
# reference pictures, opened in headless Chromium.
slides-test: $(JS_READY)
	@echo "--- slides: build and open in headless Chromium"
	@OUT=$(OUT) REFERENCE_ONLY=1 slides/build.py $(OUT)/slides-test >/dev/null
	@tests/slides_test.sh $(OUT)/slides-test/index.html $(OUT)/slides-test $(OUT)/skipped/slides-test.txt

SMOKE_RUNS += slides-test

# make reference (for maintainers): every measurement the deck and the
# README show, taken afresh in one run on an otherwise idle machine, then
# copied into slides/reference/ by slides/build.py. Commit the result.
# (The instruction count is taken last, anew, so that its sample is what
# an attendee's first make stageN instr prints, not a kept count.)
.PHONY: reference
reference: $(JS_READY)
	rm -rf $(SLIDES_INPUTS) $(OUT)/stage$(LAST_STAGE)/bench.txt $(OUT)/stage$(LAST_STAGE)/instr
	$(MAKE) --no-print-directory $(SLIDES_INPUTS)
	$(MAKE) --no-print-directory stage$(LAST_STAGE)-bench | tee $(OUT)/stage$(LAST_STAGE)/bench.txt
	rm -rf $(OUT)/stage$(LAST_STAGE)/instr
	$(MAKE) --no-print-directory stage$(LAST_STAGE)-instr
	OUT=$(OUT) slides/build.py --refresh-reference

# The documents: every relative link of every Markdown file resolves,
# anchors too (tests/docs_check.py), and every sample output marked as a
# reference run is that run's (slides/build.py --check-samples).
.PHONY: docs-check
docs-check:
	@echo "--- the documents: every relative link, and every sample marked as a reference run"
	@tests/docs_check.py .
	@slides/build.py --check-samples

SMOKE_RUNS += docs-check

# The checker checked: a deck with a deliberately overlong caption, an
# oversized diff and a shrunken call graph must fail, naming each slide.
.PHONY: slides-fixture-test
slides-fixture-test: $(JS_READY)
	@echo "--- slides: the checker fails on a deliberately bad deck"
	@tests/slides-fixture/selftest.sh $(OUT)/slides-fixture $(OUT)/skipped/slides-fixture-test.txt

SMOKE_RUNS += slides-fixture-test

# Offline, at full speed: with the network cut (a new network namespace,
# loopback only), the package check, a fresh install of the JavaScript
# from npm's cache, the deck and a live server must all work, and quickly.
# Needs the right to make a namespace: root, or else a user namespace in
# which this user is root (unshare -rn); where neither is allowed, this
# says so and counts as skipped.
.PHONY: offline-smoke
offline-smoke: $(JS_READY) $(OUT)/stage1/bench $(OUT)/stage1/server | deps-slides deps-bench
	@echo "--- offline: the network cut, loopback only"
	@IN_CONTAINER="$(IN_CONTAINER)" mk/offline-smoke.sh $(OUT) "$(DEPS_GROUPS)"

SMOKE_RUNS += offline-smoke
