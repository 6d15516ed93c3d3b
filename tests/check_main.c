/*
 * check_main.c - the one test suite every stage must pass: main().
 *
 * The Makefile links it once per unit (a stage, the attendee's
 * work/hi.c, ...) with that unit's hi.c and tests/unit.c, and every
 * tests/check_*.c.
 * Each of those files checks one concern and registers it as one test case
 * (check_suite.h lists them); this file only puts them together and runs
 * them.
 *
 * Environment, set by the Makefile:
 *   HI_SERVER       this stage's server binary
 *   HI_SERVER_TSAN  the same server built with -fsanitize=thread
 *   HI_RACE         tests/race.c for this stage, built with -fsanitize=thread
 *   HI_RACE_NOTSAN   tests/race.c for this stage, built without it
 * and for Check itself (CK_ENV): CK_VERBOSITY=verbose lists every test;
 * CK_RUN_CASE=robust runs one test case (handler, live, process, robust,
 * race); each case is also tagged with its name, so that
 * CK_INCLUDE_TAGS="handler race" runs several.
 */
#include <stdlib.h>

#include "check_suite.h"

/* Adds test_case to suite, tagged with its name (CK_INCLUDE_TAGS). */
static void add_case(Suite *suite, TCase *test_case, const char *name)
{
    tcase_set_tags(test_case, name);
    suite_add_tcase(suite, test_case);
}

/* Returns the suite for this stage: the same test cases for every stage;
 * each decides for itself what depends on unit_race_free. */
static Suite *hi_suite(void)
{
    Suite *suite = suite_create(unit_name);

    add_case(suite, contract_tcase(), "handler");
    add_case(suite, live_tcase(), "live");
    add_case(suite, process_tcase(), "process");
    add_case(suite, robust_tcase(), "robust");
    add_case(suite, race_tcase(), "race");
    return suite;
}

/* Runs the suite. Returns EXIT_SUCCESS when every test passed. */
int main(void)
{
    SRunner *runner = srunner_create(hi_suite());
    int failed;

    /* Every test starts from visitor number 1 because each runs in a
     * fresh child process: keep that even if CK_FORK=no is set. */
    srunner_set_fork_status(runner, CK_FORK);

    /* CK_ENV: Check reads CK_VERBOSITY and CK_RUN_CASE from the
     * environment. Unset, it is the usual one-line summary. */
    srunner_run_all(runner, CK_ENV);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
