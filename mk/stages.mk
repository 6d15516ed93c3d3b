# mk/stages.mk - the stages, read from stages/stages.txt, and which of
# them a command line such as `make stage3 test` or `make work bench` is
# about.
#
# A "unit" is what the per-stage targets build and run: stage1, stage2,
# ..., work (the attendee's workspace) or one of the challenge's
# (mk/challenge.mk). Its binaries go to out/UNIT/; its source is
# stages/NN-name/hi.c, work/hi.c or the challenge's hi.c.

STAGES_FILE := stages/stages.txt
comma := ,
empty :=
space := $(empty) $(empty)

# One word per stage, "number:folder:expects:instructions", from the
# shell's reader of the file (stages/stages.sh).
STAGE_TABLE := $(shell stages/stages.sh table)
ALL_STAGES := $(foreach row,$(STAGE_TABLE),$(firstword $(subst :, ,$(row))))
LAST_STAGE := $(lastword $(ALL_STAGES))
ifeq ($(ALL_STAGES),)
  $(error no stages in $(STAGES_FILE))
endif

# stage_field N,I: the I-th column of stage N's row.
stage_field = $(word $(2),$(subst :, ,$(filter $(1):%,$(STAGE_TABLE))))
stage_folder = $(call stage_field,$(1),2)
stage_expects = $(subst $(comma), ,$(call stage_field,$(1),3))
stage_title = $(shell stages/stages.sh title $(1))
stage_dir = stages/$(call stage_folder,$(1))

# stage_before N and stage_after N: its neighbours in the list, or nothing.
stage_before = $(if $(1),$(shell stages/stages.sh before $(1)))
stage_after = $(if $(1),$(shell stages/stages.sh after $(1)))

# ============================ Units ===========================================

STAGE_UNITS := $(addprefix stage,$(ALL_STAGES))

# checked_as N: the stage whose expectations make work FROM=N is held
# to: the next one, or after the last, the last itself (stages.txt).
checked_as = $(shell stages/stages.sh checked-as $(1))

# The workspace is checked with the exercise of the stage it came from.
WORK_FROM := $(strip $(shell cat $(WORK)/FROM 2>/dev/null))
WORK_CHECKED_AS := $(if $(WORK_FROM),$(call checked_as,$(WORK_FROM)))

# The challenge's units: the attendee's copy, the challenge as given,
# and its reference solution. Each is checked as the last stage it grew
# from, but expects only race-free: finding the rest is the challenge.
CHALLENGE_UNITS := challenge challenge-given challenge-solved
CHALLENGE_WORK := $(WORK)/challenge
SOURCE_OF_work = $(WORK)/hi.c
SOURCE_OF_challenge = $(CHALLENGE_WORK)/hi.c
SOURCE_OF_challenge-given = challenge/hi.c
SOURCE_OF_challenge-solved = challenge/solution/hi.c
NAME_OF_work = work (from stage $(WORK_FROM), checked as stage $(WORK_CHECKED_AS))
NAME_OF_challenge = challenge (your copy)
NAME_OF_challenge-given = challenge (as given)
NAME_OF_challenge-solved = challenge (reference solution)

# unit_source UNIT: the hi.c it builds from.
unit_source = $(or $(SOURCE_OF_$(1)),$(call stage_dir,$(1:stage%=%))/hi.c)
# unit_from UNIT: the stage whose exercise UNIT is checked as, for a
# stage's row in stages.txt is also the exercise of the stage before it.
# Stage N's lesson is the exercise of stage N-1 (none for the first);
# the workspace's, that of the stage it was copied from; an exercise
# unit's (mk/exercises.mk), its stage's. None for the challenge.
unit_from = $(strip $(if $(filter work,$(1)),$(WORK_FROM),$(if $(filter $(STAGE_UNITS),$(1)),$(call stage_before,$(1:stage%=%)),$(EXERCISE_FROM_$(1)))))
# unit_stage UNIT: the stage whose expectations it is checked against.
unit_stage = $(if $(filter $(STAGE_UNITS),$(1)),$(1:stage%=%),$(if $(call unit_from,$(1)),$(call checked_as,$(call unit_from,$(1))),$(LAST_STAGE)))
# unit_expects UNIT: stages.txt's expects of that stage. A copy made to
# be changed (the workspace, an exercise unit) may keep a race or fix
# it, so "race" is not asked of it; the challenge expects race-free.
unit_expects = $(if $(filter $(CHALLENGE_UNITS),$(1)),race-free,$(if $(filter $(STAGE_UNITS),$(1)),$(call stage_expects,$(1:stage%=%)),$(filter-out race,$(call stage_expects,$(call unit_stage,$(1))))))
unit_name = $(or $(NAME_OF_$(1)),$(1))

# ============================ The command line ================================

# `make stage3 test`: stage3 selects, test acts. Without a stage, test
# takes every stage and the other per-stage targets take stage 1.
SELECTED := $(filter $(STAGE_UNITS) work challenge,$(MAKECMDGOALS))
OTHER_GOALS := $(filter-out $(SELECTED),$(MAKECMDGOALS))

# A stage that does not exist is an error that lists the ones that do,
# whether named alone (stage9) or in a target's own name (stage9-test).
UNKNOWN_STAGES := $(strip $(foreach goal,$(filter stage%,$(MAKECMDGOALS)),$(if $(filter $(firstword $(subst -, ,$(goal))),$(STAGE_UNITS)),,$(firstword $(subst -, ,$(goal))))))
ifneq ($(UNKNOWN_STAGES),)
  $(error there is no $(firstword $(UNKNOWN_STAGES)): the stages are $(STAGE_UNITS) (stages/stages.txt))
endif
# The workspace: its targets need one, and FROM= only makes one.
WORK_GOALS := $(filter-out work-smoke work-needed,$(filter work work-%,$(MAKECMDGOALS)))
ifneq ($(filter-out work,$(WORK_GOALS))$(if $(filter work,$(SELECTED)),$(OTHER_GOALS)),)
  ifeq ($(WORK_FROM),)
    $(error there is no workspace yet: make work FROM=N copies stage N into $(WORK)/)
  endif
endif
# The challenge: its targets need the attendee's copy.
ifneq ($(if $(filter challenge,$(SELECTED)),$(filter-out solution hint,$(OTHER_GOALS))),)
  ifeq ($(wildcard $(CHALLENGE_WORK)/hi.c),)
    $(error there is no copy of the challenge yet: make challenge puts one in $(CHALLENGE_WORK)/)
  endif
endif
ifneq ($(FROM),)
  ifneq ($(filter-out work,$(MAKECMDGOALS)),)
    $(error FROM= goes with make work alone: make work FROM=$(FROM), then make work test)
  endif
endif

# A bare `make stage3` builds that stage's server; with another goal it
# only selects. (`make work` is in mk/work.mk.)
.PHONY: $(STAGE_UNITS)
$(STAGE_UNITS):
	@$(if $(OTHER_GOALS),:,$(MAKE) --no-print-directory $(OUT)/$@/server)

# per_unit TARGET: the TARGET of each selected unit, or of stage 1.
per_unit = $(addsuffix -$(1),$(or $(SELECTED),stage1))

# title-check, part of make test: the copies of each stage's title that
# a reader sees (its hi.c, its README.md, the top README's table) agree
# with stages.txt; stages/stages.py names each one that does not.
.PHONY: title-check
title-check:
	@echo "--- the stages' titles, against stages/stages.txt"
	@stages/stages.py check

SMOKE_RUNS += title-check
