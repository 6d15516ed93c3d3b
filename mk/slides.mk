# ============================ Slides ==========================================
PACKAGES += pandoc chromium
COMMAND_PACKAGES += node:nodejs npm:npm

SLIDES_OUT := $(OUT)/slides

# reveal.js from npm, pinned by slides/package-lock.json.
slides/node_modules/reveal.js/dist/reveal.js: slides/package.json slides/package-lock.json | deps
	cd slides && npm ci --no-audit --no-fund
	@touch $@

# What the deck shows, regenerated only when missing (order-only): a
# stale picture is still a real measurement, and redoing them all takes
# minutes. `rm -rf profiles/out out/compare` to start afresh.
SLIDES_INPUTS := $(OUT)/compare/compare.json \
  $(foreach n,1 2,profiles/out/stage$(n)/cpu.png) profiles/out/stage1/mem.png \
  $(foreach n,4 5,profiles/out/stage$(n)/block.png) profiles/out/stage5/server.png \
  profiles/out/stage3/cover/summary.txt

$(OUT)/compare/compare.json:
	$(MAKE) --no-print-directory compare
profiles/out/stage%/cpu.png:
	$(MAKE) --no-print-directory profile-$*
profiles/out/stage%/mem.png:
	$(MAKE) --no-print-directory memprofile-$*
profiles/out/stage%/block.png:
	$(MAKE) --no-print-directory blockprofile-$*
profiles/out/stage%/server.png:
	$(MAKE) --no-print-directory profile-server-$*
profiles/out/stage%/cover/summary.txt:
	$(MAKE) --no-print-directory cover-$*

.PHONY: slides slides-test diff
slides: slides/node_modules/reveal.js/dist/reveal.js | $(SLIDES_INPUTS)
	@slides/build.py $(SLIDES_OUT)
	@echo "open $(SLIDES_OUT)/index.html in a browser (works offline)"

# The browser test inside `make test`: the deck from the committed
# reference pictures, opened in headless Chromium.
slides-test: slides/node_modules/reveal.js/dist/reveal.js
	@echo "--- slides: build and open in headless Chromium"
	@REFERENCE_ONLY=1 slides/build.py $(OUT)/slides-test >/dev/null
	@tests/slides_test.sh $(OUT)/slides-test/index.html $(OUT)/slides-test

ifeq ($(SELECTED),)
test: slides-test
endif

# diff N=3 (or `make stage3 diff`): the lesson of stage N.
DIFF_STAGE := $(or $(N),$(firstword $(SELECTED)))
diff:
	@case "$(DIFF_STAGE)" in 2|3|4|5) ;; \
	  *) echo "usage: make diff N=2..5 (or make stage3 diff): the change from stage N-1" >&2; exit 2;; esac
	@diff -u $(call stage_dir,$(shell expr $(DIFF_STAGE) - 1))/hi.c $(call stage_dir,$(DIFF_STAGE))/hi.c || true
