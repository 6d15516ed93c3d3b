# mk/work.mk - the attendee's workspace, in the manner of perf-ninja's labs.
#
#   make work FROM=N      copy stage N's handler to work/hi.c (mk/work.sh)
#   make work TARGET      any per-stage target, on work/hi.c, checked as
#                         stage N+1: test, bench, race, instr, profile, ...
#   make work cmp         work against stage N and stage N+1, with p-values
#   make work diff        your change against stage N
#   make work solution    the reference change, stage N to N+1
#   make work-smoke       the flow itself, inside make test

.PHONY: work work-cmp work-diff work-solution work-smoke cmp solution

# `make work` alone makes the workspace (with FROM) or says what it
# holds; with another goal, it only selects the workspace.
work:
	@$(if $(OTHER_GOALS),:,$(if $(FROM),mk/work.sh new $(WORK) $(FROM) $(FORCE),mk/work.sh status $(WORK)))

cmp: $(if $(filter work,$(SELECTED)),work-cmp,work-needed)
solution: $(if $(filter challenge,$(SELECTED)),challenge-solution,$(if $(filter work,$(SELECTED)),work-solution,work-needed))
.PHONY: work-needed
work-needed:
	@echo "usage: make work $(filter cmp solution,$(MAKECMDGOALS)) (after make work FROM=N)$(if $(filter solution,$(MAKECMDGOALS)), or make challenge solution)" >&2; exit 2

# The workspace between where it came from and where it is going, run in
# a random order every round, in time and in instructions.
WORK_NEXT_BENCH = $(if $(filter-out $(WORK_FROM),$(WORK_CHECKED_AS)),"stage $(WORK_CHECKED_AS)=$(OUT)/stage$(WORK_CHECKED_AS)/bench")
work-cmp: $(OUT)/work/bench $(OUT)/stage$(WORK_FROM)/bench $(OUT)/stage$(WORK_CHECKED_AS)/bench \
          $(OUT)/work/instr/instr.json $(OUT)/stage$(WORK_FROM)/instr/instr.json \
          $(OUT)/stage$(WORK_CHECKED_AS)/instr/instr.json | deps-bench
	@bench/instr.py totals "stage $(WORK_FROM)=$(OUT)/stage$(WORK_FROM)/instr" "your work=$(OUT)/work/instr" \
	  $(if $(filter-out $(WORK_FROM),$(WORK_CHECKED_AS)),"stage $(WORK_CHECKED_AS)=$(OUT)/stage$(WORK_CHECKED_AS)/instr")
	@bench/benchtool.py benchcmp $(OUT)/work/benchcmp "stage $(WORK_FROM)=$(OUT)/stage$(WORK_FROM)/bench" \
	  "your work=$(OUT)/work/bench" $(WORK_NEXT_BENCH)

work-diff:
	@diff -u $(call stage_dir,$(WORK_FROM))/hi.c $(WORK)/hi.c && echo "no change yet: edit $(WORK)/hi.c" || true

work-solution:
	@$(if $(filter $(WORK_FROM),$(WORK_CHECKED_AS)),echo "stage $(WORK_FROM) is the last: no reference change exists; make work diff shows yours"; exit 0;) \
	diff -u $(call stage_dir,$(WORK_FROM))/hi.c $(call stage_dir,$(WORK_CHECKED_AS))/hi.c || true

# The flow itself, as an attendee types it, in a workspace of its own:
# stage 2 copied unchanged must fail stage 3's race checks with a message
# that says which expectation broke; with stage 3's change applied, pass.
# (Only the race test case runs: it is what stage 3 changes.)
WORK_SMOKE := $(OUT)/work-smoke
work_smoke_make = CK_RUN_CASE=race $(MAKE) --no-print-directory OUT=$(WORK_SMOKE)/out WORK=$(WORK_SMOKE)/work
# Its binaries, compiled on every CPU first.
work_smoke_build = $(work_smoke_make) -j$(shell nproc) BUILD_IN_PARALLEL=1 \
	$(addprefix $(WORK_SMOKE)/out/work/,$(TEST_BUILD_FILES)) $(WORK_SMOKE)/out/stage2/instr/instr.json
work-smoke: | deps-build deps-test
	@echo "--- the workspace: stage 2 copied, checked as stage 3; unchanged it fails, with stage 3's change it passes"
	@rm -rf $(WORK_SMOKE) && mkdir -p $(WORK_SMOKE)
	@$(work_smoke_make) work FROM=2 >$(WORK_SMOKE)/new.log 2>&1 || { cat $(WORK_SMOKE)/new.log; exit 1; }
	@grep -q 'checks it as stage 3' $(WORK_SMOKE)/new.log || { cat $(WORK_SMOKE)/new.log; echo "FAIL: make work did not say what it checks"; exit 1; }
	@$(work_smoke_build) >$(WORK_SMOKE)/build.log 2>&1 || { cat $(WORK_SMOKE)/build.log; exit 1; }
	@! $(work_smoke_make) work test >$(WORK_SMOKE)/unchanged.log 2>&1 \
	  || { cat $(WORK_SMOKE)/unchanged.log; echo "FAIL: an unchanged copy of stage 2 passed stage 3's checks"; exit 1; }
	@grep -q 'stage 3 expects no data race' $(WORK_SMOKE)/unchanged.log \
	  || { cat $(WORK_SMOKE)/unchanged.log; echo "FAIL: the failure does not say which expectation broke"; exit 1; }
	@cp $(call stage_dir,3)/hi.c $(WORK_SMOKE)/work/hi.c
	@! $(work_smoke_make) work FROM=2 >$(WORK_SMOKE)/refused.log 2>&1 \
	  || { cat $(WORK_SMOKE)/refused.log; echo "FAIL: make work overwrote a changed hi.c"; exit 1; }
	@$(work_smoke_build) >$(WORK_SMOKE)/build.log 2>&1 || { cat $(WORK_SMOKE)/build.log; exit 1; }
	@$(work_smoke_make) work test >$(WORK_SMOKE)/solved.log 2>&1 \
	  || { cat $(WORK_SMOKE)/solved.log; echo "FAIL: stage 3's change, applied in the workspace, did not pass"; exit 1; }
	@echo "workspace: unchanged copy fails ($$(grep -o 'stage 3 expects no data race' $(WORK_SMOKE)/unchanged.log | head -1));" \
	  "a changed hi.c is not overwritten; stage 3's change passes"

SMOKE_RUNS += work-smoke
