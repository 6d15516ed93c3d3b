# mk/work.mk - the attendee's workspace, in the manner of perf-ninja's labs.
#
#   make work FROM=N      copy stage N's handler to work/hi.c (mk/work.sh),
#                         keeping a changed one aside
#   make work TARGET      any per-stage target, on work/hi.c, checked with
#                         stage N's exercise (stages/stages.txt): test,
#                         bench, race, instr, profile, ...
#   make work cmp         work against stage N and stage N+1, with p-values
#   make work diff        your change against stage N
#   make work solution    the reference change, stage N to N+1 (after
#                         the last stage, its open exercise's answer)
#   make work-smoke       the flow itself, inside make test

.PHONY: work work-cmp work-diff work-solution work-smoke cmp solution

# `make work` alone makes the workspace (with FROM) or says what it
# holds; with another goal, it only selects the workspace.
work:
	@$(if $(OTHER_GOALS),:,$(if $(FROM),mk/work.sh new $(WORK) $(FROM),mk/work.sh status $(WORK)))

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

# The reference change: the next stage's hi.c, or after the last stage
# the answer to its open exercise (mk/exercises.mk), a patch already.
work-solution:
	@$(if $(filter $(WORK_FROM),$(WORK_CHECKED_AS)),cat $(OPEN_EXERCISE_PATCH), \
	  diff -u $(call stage_dir,$(WORK_FROM))/hi.c $(call stage_dir,$(WORK_CHECKED_AS))/hi.c || true)

# The flow itself, as an attendee types it, in a workspace of its own
# (mk/work-smoke.sh): stage 2 copied unchanged fails stage 3's checks,
# saying which expectation broke; with stage 3's change, it passes.
# (Its make is passed through a variable: a recipe line that names $(MAKE)
# itself would run even under make -n.)
SMOKE_MAKE = $(MAKE)
work-smoke: $(JS_READY) | deps-build deps-test deps-perf
	@echo "--- the workspace: stage 2 copied, checked as stage 3: unchanged it fails, changed it passes"
	@MAKE="$(SMOKE_MAKE)" mk/work-smoke.sh $(OUT)/work-smoke "$(TEST_BUILD_FILES)"

SMOKE_RUNS += work-smoke
