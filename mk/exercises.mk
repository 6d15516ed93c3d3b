# mk/exercises.mk - every exercise, shown passable: for each stage N, the
# check of `make work FROM=N` fails on the copy as made, and passes with
# the reference change and with correct changes written another way.
#
#   exerciseN-unchanged     stage N's hi.c, as make work FROM=N copies it
#   exerciseN-NAME          stage N's hi.c with tests/exercises/N-NAME.patch:
#                           a correct change, written unlike the reference
#   exerciseL-reference     the last stage's open exercise, answered by
#                           the patch in its folder (exercise.patch)
#   exercise-check          all of them, inside make test
#
# Each is a unit like the workspace: checked with the exercise of stage N
# (mk/stages.mk's unit_from), built and run by the same rules. The
# reference change of every other exercise is the next stage's hi.c,
# which that stage's own test checks the same way (more strictly: it
# also demands the race that stage 2 keeps).

EXERCISE_PATCHES := $(sort $(wildcard tests/exercises/*.patch))
OPEN_EXERCISE_PATCH := $(call stage_dir,$(LAST_STAGE))/exercise.patch
EXERCISE_CHANGED_UNITS := $(patsubst tests/exercises/%.patch,exercise%,$(EXERCISE_PATCHES)) \
                          exercise$(LAST_STAGE)-reference
EXERCISE_UNITS := $(foreach n,$(ALL_STAGES),exercise$(n)-unchanged $(filter exercise$(n)-%,$(EXERCISE_CHANGED_UNITS)))

# Each unit's stage (unit_from), name and source: an unchanged one is
# its stage's hi.c; a changed one, that file with its patch applied.
$(foreach unit,$(EXERCISE_UNITS),$(eval EXERCISE_FROM_$(unit) := $(firstword $(subst -, ,$(unit:exercise%=%)))))
$(foreach unit,$(EXERCISE_UNITS),$(eval NAME_OF_$(unit) = exercise $(EXERCISE_FROM_$(unit)) ($(unit:exercise$(EXERCISE_FROM_$(unit))-%=%))))
$(foreach n,$(ALL_STAGES),$(eval SOURCE_OF_exercise$(n)-unchanged = $(call stage_dir,$(n))/hi.c))
$(foreach unit,$(EXERCISE_CHANGED_UNITS),$(eval SOURCE_OF_$(unit) = $(OUT)/exercises/$(unit).c))
exercise_patch = $(if $(filter %-reference,$(1)),$(OPEN_EXERCISE_PATCH),tests/exercises/$(1:exercise%=%).patch)

# A patch that no longer applies exactly (its stage's hi.c changed) is an
# error that says so, never a silently different change.
define exercise_source
$(OUT)/exercises/$(1).c: $(call stage_dir,$(EXERCISE_FROM_$(1)))/hi.c $(call exercise_patch,$(1)) | deps-test
	@mkdir -p $$(@D)
	@patch --quiet --fuzz=0 --reject-file=- -o $$@ $$^ >/dev/null \
	  || { rm -f $$@; echo "$(call exercise_patch,$(1)) no longer applies to $$<: write it again" >&2; exit 1; }
endef
$(foreach unit,$(EXERCISE_CHANGED_UNITS),$(eval $(call exercise_source,$(unit))))

.PHONY: exercise-check
exercise-check: | deps-build deps-test deps-bench
	@echo "--- the exercises: each check fails on the copy as made, and passes with correct changes"
	@MAKE="$(SMOKE_MAKE)" mk/exercise-check.sh $(OUT) "$(EXERCISE_UNITS)" "$(TEST_BUILD_FILES)"

SMOKE_RUNS += exercise-check
