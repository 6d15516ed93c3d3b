/*
 * check_main.c - the one test suite every stage must pass: main().
 *
 * The Makefile builds it once per stage, against that stage's hi.c (or
 * the attendee's work/hi.c), with every tests/check_*.c.
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
 * race).
 */
#include <stdlib.h>

#include "check_suite.h"

/* Returns the suite for this stage: the same test cases for every stage;
 * each decides for itself what depends on STAGE_RACE_FREE. */
static Suite *hi_suite(void)
{
    Suite *suite = suite_create(SUITE_NAME);

    suite_add_tcase(suite, contract_tcase());
    suite_add_tcase(suite, live_tcase());
    suite_add_tcase(suite, process_tcase());
    suite_add_tcase(suite, robust_tcase());
    suite_add_tcase(suite, race_tcase());
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
