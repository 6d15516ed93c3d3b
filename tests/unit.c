/*
 * unit.c - the constants of unit.h, from the -D flags the Makefile gives
 * this file alone (mk/build.mk's unit_flags).
 */
#include "unit.h"

#if !defined(STAGE) || !defined(STAGE_RACE_FREE) || !defined(STAGE_RACE_REPORTED) || \
    !defined(UNIT_NAME)
#error "build through the Makefile: it sets STAGE, STAGE_RACE_FREE, STAGE_RACE_REPORTED, UNIT_NAME"
#endif

const int unit_stage = STAGE;
const int unit_race_free = STAGE_RACE_FREE;
const int unit_race_reported = STAGE_RACE_REPORTED;
const char unit_name[] = UNIT_NAME;
