# mk/units.mk - what differs from one unit to the next: the hi.c it is
# built from, and the stage its lesson is held against.
#
# The pattern rules of the other mk/ files build any unit's binaries the
# same way (out/%/server, out/%/tests, ...). Here one prerequisite line
# per unit adds the unit's own hi.c, as if written out by hand:
#   out/stage3/server out/stage3/tests ...: stages/03-atomic-counter/hi.c
#   stage3-lesson: out/stage2/instr/instr.json
# Included last, once every list below is complete.

ALL_UNITS := $(STAGE_UNITS) work $(CHALLENGE_UNITS) $(EXERCISE_UNITS)

# What is compiled from a unit's hi.c: its two objects, which its
# binaries link, and the builds that compile it afresh.
unit_built_from_source = $(OUT)/$(1)/hi.o $(OUT)/$(1)/hi-tsan.o $(1)-optinfo \
	$(foreach cc,$(SANITIZE_COMPILERS),$(OUT)/sanitize/$(cc)-$(1)/tests $(OUT)/sanitize/$(cc)-$(1)/server)

$(foreach unit,$(ALL_UNITS),$(eval $(call unit_built_from_source,$(unit)): $(call unit_source,$(unit))))

# A lesson is measured against the stage whose exercise it is. (UNIT-suite
# is named too, with nothing added: make would otherwise take the lesson,
# which it knows by name, before the suite it finds through a pattern,
# and print make test's lines out of order.)
$(foreach unit,$(ALL_UNITS),$(if $(call unit_from,$(unit)),\
  $(eval $(unit)-lesson: $(OUT)/stage$(call unit_from,$(unit))/instr/instr.json)))
$(foreach unit,$(ALL_UNITS),$(eval $(unit)-suite:))

# The sanitizer runs reuse the unit's ThreadSanitizer builds for the race tests.
$(foreach unit,$(ALL_UNITS),$(foreach cc,$(SANITIZE_COMPILERS),\
  $(eval sanitize-$(cc)-$(unit): $(addprefix $(OUT)/$(unit)/,server-tsan race race-notsan))))

# The fuzz target links every stage: out/fuzz/stage3.o from stage 3's hi.c.
$(foreach n,$(ALL_STAGES),$(eval $(FUZZ_OUT)/stage$(n).o: $(call stage_dir,$(n))/hi.c))
