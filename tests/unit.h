/*
 * unit.h - what the suite and the benchmarks know of the unit they run
 * against: a stage, the attendee's workspace, an exercise or the
 * challenge (mk/stages.mk says which is which).
 *
 * The constants are defined in unit.c, the one file compiled anew for
 * each unit; every other file reads them, so that it is compiled once
 * for all units.
 */
#ifndef UNIT_H
#define UNIT_H

/* The stage whose expectations apply (stages/stages.txt). */
extern const int unit_stage;

/* 1: no data race, and every visitor number handed out once. */
extern const int unit_race_free;

/* 1: the race is kept on purpose (stages 1 and 2), and ThreadSanitizer
 * must report it. Both 0: the copy of a racy stage, which may keep the
 * race or fix it. */
extern const int unit_race_reported;

/* What Check calls the suite and the benchmark lines call the package:
 * "stage3", "work (from stage 2, checked as stage 3)". */
extern const char unit_name[];

#endif
