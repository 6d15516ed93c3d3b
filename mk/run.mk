# mk/run.mk - running a unit: its server, its suite, its race demo, and
# the diff that is its lesson; and make clean.

.PHONY: build run suite test race diff clean
build: $(foreach unit,$(or $(SELECTED),$(STAGE_UNITS)),$(OUT)/$(unit)/server)

run: $(call per_unit,run)
%-run: $(OUT)/%/server
	@$(if $(filter 0.0.0.0,$(HOST)),echo "(in a container: on all its addresses, so that the host's" \
	  "-p 127.0.0.1:$(PORT):$(PORT) reaches it)")
	@HOST=$(HOST) PORT=$(PORT) $(OUT)/$*/server

# UNIT-suite runs the shared suite; UNIT-test adds the unit's lesson,
# measured (mk/measure.mk). CK_RUN_CASE=race runs one test case of it.
suite: $(call per_unit,suite)
%-suite: $(OUT)/%/tests $(OUT)/%/server $(OUT)/%/server-tsan $(OUT)/%/race $(OUT)/%/race-notsan
	@echo "=== $(call unit_name,$*): $(call unit_source,$*) ==="
	@mkdir -p $(OUT)/$*/tmp $(OUT)/skipped && rm -f $(OUT)/skipped/$*-race.txt
	@$(call suite_env,$*,$(OUT)/$*/server,$(OUT)/$*/tmp) $(OUT)/$*/tests | tee $(OUT)/$*/checks.txt

%-test: %-suite %-lesson ;


# make stageN race: ThreadSanitizer's verdict, like go test -race; where it
# finds a race, the harm that race does in a build without it (tests/race.c).
race: $(call per_unit,race)
%-race: $(OUT)/%/race $(OUT)/%/race-notsan
	@REPORT=$(OUT)/$*/tsan-report.txt tests/race.sh "$(call unit_name,$*)" $(OUT)/$*/race $(OUT)/$*/race-notsan 2>&1 \
	  | tee $(OUT)/$*/race.txt

# diff N=3 (or make stage3 diff): the lesson of stage N, as a diff. The
# workspace's (make work diff) is in mk/work.mk.
DIFF_STAGE := $(or $(N),$(patsubst stage%,%,$(firstword $(SELECTED))))
diff: $(if $(filter challenge,$(SELECTED)),challenge-diff,$(if $(filter work,$(SELECTED)),work-diff,diff-of-stage))
.PHONY: diff-of-stage
diff-of-stage:
	@$(if $(call stage_before,$(DIFF_STAGE)),:,echo "usage: make diff N=2..$(LAST_STAGE) (or make stage3 diff): what stage N changed" >&2; exit 2)
	@diff -u $(call stage_dir,$(call stage_before,$(DIFF_STAGE)))/hi.c $(call stage_dir,$(DIFF_STAGE))/hi.c || true
# make stage3-diff, by its own name like the other per-stage targets.
$(addsuffix -diff,$(STAGE_UNITS)): stage%-diff:
	@$(MAKE) --no-print-directory diff N=$*

# --one-file-system: a fresh-check's root under out/ may still have the
# host's /dev and /proc mounted in it, if that check was killed.
clean:
	rm -rf --one-file-system out
