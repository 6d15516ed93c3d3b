# mk/challenge.mk - the challenge: a server with problems nobody names,
# fixed by the attendee alone and checked by measurement (challenge/).
#
#   make challenge            copy challenge/hi.c to work/challenge/hi.c
#                             (FORCE=1: again, over your changes)
#   make challenge test       the shared suite, then each problem, measured:
#                             still there, or fixed (challenge/check.py)
#   make challenge hint       the next hint for the first problem still there
#                             (PROBLEM=2: for the second one still there)
#   make challenge solution   the reference fix as a diff, and its measurements
#   make challenge diff       your changes so far
#   make challenge TARGET     any per-stage target on your copy: bench,
#                             instr, profile, memprofile, blockprofile, ...
#
# make test runs the suite and the checker on the challenge as given,
# which must have every problem, and on its reference solution, which
# must have none: a change that hides a problem from its measurement
# fails there. Neither names a problem: only the attendee's own copy
# names what it fixed, and only make challenge hint one still there.

.PHONY: challenge hint challenge-hint challenge-solution challenge-diff challenge-given-hint-check

# `make challenge` alone makes the copy (or says what it holds); with
# another goal, it only selects the copy.
challenge:
	@$(if $(OTHER_GOALS),:,mk/work.sh challenge $(CHALLENGE_WORK) $(FORCE))

# UNIT-problems: every problem of the challenge, measured on UNIT; fails
# while one is still there. The attendee's copy names those it fixed.
# UNIT-problems-present, the reverse: fails unless every problem is there
# (the challenge as given).
%-problems: $(OUT)/%/bench $(OUT)/%/bench-uncounted | deps-bench deps-perf
	@challenge/check.py measure $(OUT)/$* "$(call unit_name,$*)" $(if $(filter challenge,$*),--name-fixed)
%-problems-present: $(OUT)/%/bench $(OUT)/%/bench-uncounted | deps-bench deps-perf
	@challenge/check.py measure $(OUT)/$* "$(call unit_name,$*)" --expect=present

# The challenge's units are tested by their problems, not by a lesson.
challenge-test: challenge-suite challenge-problems ;
challenge-given-test: challenge-given-suite challenge-given-problems-present challenge-given-hint-check ;
# make challenge hint, on the challenge as given: its first hint names no
# problem, its second the one it is about (said without naming it).
challenge-given-hint-check: challenge-given-problems-present
	@challenge/check.py hint-check $(OUT)/challenge-given $(OUT)/challenge-given
challenge-solved-test: challenge-solved-suite challenge-solved-problems ;

# A hint comes from a measurement of the copy as it is now: the checker
# measures again when the copy, or the environment, changed since.
hint: challenge-hint
challenge-hint: $(if $(wildcard $(CHALLENGE_WORK)/hi.c),$(OUT)/challenge/bench $(OUT)/challenge/bench-uncounted) \
                | deps-bench deps-perf
	@$(if $(wildcard $(CHALLENGE_WORK)/hi.c),challenge/check.py hint $(OUT)/challenge $(CHALLENGE_WORK)/hints.json "$(PROBLEM)", \
	  echo "there is no copy of the challenge yet: make challenge puts one in $(CHALLENGE_WORK)/")

challenge-diff:
	@diff -u challenge/hi.c $(CHALLENGE_WORK)/hi.c && echo "no change yet: edit $(CHALLENGE_WORK)/hi.c" || true

# The reference fix, and what the checker measures of it, each problem named.
challenge-solution: $(OUT)/challenge-solved/bench $(OUT)/challenge-solved/bench-uncounted | deps-bench deps-perf
	@diff -u challenge/hi.c challenge/solution/hi.c || true
	@echo "(the reference fix above; what the checker measures of it below)"
	@challenge/check.py measure $(OUT)/challenge-solved "$(call unit_name,challenge-solved)" --name-fixed
