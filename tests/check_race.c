/*
 * check_race.c - ThreadSanitizer's verdict on the visitor counter.
 *
 * The only tests whose expectation differs by stage. Stages 1 and 2 keep
 * their data race on purpose (race in stages/stages.txt): ThreadSanitizer
 * must report it, and nothing else. Race-free stages must be silent, and
 * hand out every visitor number exactly once: under ThreadSanitizer
 * (tests/race.c, $HI_RACE), through the live server built with it
 * ($HI_SERVER_TSAN), and at full speed without it ($HI_RACE_NOTSAN).
 * A workspace copied from stage 1 may keep the race or fix it: any
 * report must still be about visitor_count alone.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <unistd.h>

#include "check_suite.h"
#include "server_process.h"
#include "visitors.h"

/* Returns how many times needle occurs in text. */
static int count_of(const char *text, const char *needle)
{
    int count = 0;

    for (const char *at = text; at != NULL && (at = strstr(at, needle)) != NULL; at++)
        count++;
    return count;
}

/* ThreadSanitizer maps its shadow memory at fixed addresses. On kernels
 * that randomise mmap more than it expects (vm.mmap_rnd_bits = 32, the
 * default of Ubuntu since 24.04), gcc's runtime dies at start, at random:
 * "FATAL: ThreadSanitizer: unexpected memory mapping" with exit status 66,
 * or a plain crash. With address randomisation off, as `setarch -R` sets
 * it, it always starts; the programs the race tests run inherit the
 * setting from the test process. Returns 0, or -1 where the system does
 * not allow it (a container's default seccomp profile). */
static int tsan_without_aslr(void)
{
    int current = personality(0xffffffff);

    if (current == -1)
        return -1;
    return personality((unsigned long)current | ADDR_NO_RANDOMIZE) == -1 ? -1 : 0;
}

/* Where randomisation cannot be turned off, whether a sanitized program
 * starts is a lottery: it is tried this many times before giving up. */
#define TSAN_TRIES 5

/* Returns 1 when a ThreadSanitizer program died before main: its output
 * says so. (A crash there can also leave no output; that is not counted,
 * so that a silent crash of the test itself is never read as one.) */
static int tsan_died_at_start(const char *output)
{
    return contains(output, "FATAL: ThreadSanitizer");
}

/* Returns 1 when ThreadSanitizer starts here, at least sometimes: always
 * where address randomisation could be turned off; otherwise, when the
 * sanitized server, given a PORT it refuses, reaches its main() (exit
 * status 2) in one of TSAN_TRIES starts. */
static int tsan_starts(void)
{
    const char *binary = getenv("HI_SERVER_TSAN");
    int saved = personality(0xffffffff), started = 0;

    if (binary == NULL)
        return 1;
    if (tsan_without_aslr() == 0) {
        /* Allowed: the race tests turn it off themselves; the suite's
         * other tests keep randomisation as it was. */
        personality((unsigned long)saved);
        return 1;
    }
    setenv("PORT", "not-a-port", 1);
    for (int try = 0; try < TSAN_TRIES && !started; try++) {
        char *output = NULL;
        int status = run_program(binary, 30, &output);

        /* Anything but a death in ThreadSanitizer's start-up (a missing
         * binary, say) is for the tests to report, not a reason to skip. */
        started = status == 2 || !tsan_died_at_start(output);
        free(output);
    }
    unsetenv("PORT");
    return started;
}

/* Fails the test when ThreadSanitizer itself could not run, so that a
 * runtime that died at start is never read as a verdict on the race. */
static void assert_tsan_ran(const char *what, const char *output)
{
    ck_assert_msg(!contains(output, "FATAL: ThreadSanitizer"),
                  "ThreadSanitizer could not run here, so %s says nothing about a race%s:\n%s",
                  what, tsan_without_aslr() == 0 ? "" :
                  " (address randomisation cannot be turned off here; in a container, start it"
                  " with --security-opt seccomp=unconfined, or on the host: sudo sysctl"
                  " vm.mmap_rnd_bits=28)", excerpt(output));
}

/* Asserts what ThreadSanitizer said, given the stage. output holds what
 * the sanitized program (what names it) printed; status is how it
 * exited. */
static void assert_race_verdict(const char *what, int status, const char *output)
{
    assert_tsan_ran(what, output);
    if (unit_race_free) {
        ck_assert_msg(!contains(output, "ThreadSanitizer"),
                      "stage %d expects no data race (race-free in stages/stages.txt),"
                      " but ThreadSanitizer reported one:\n%s", unit_stage, excerpt(output));
        ck_assert_msg(status == 0, "stage %d is race-free, but %s exited with status %d,"
                      " want 0:\n%s", unit_stage, what, status, excerpt(output));
        return;
    }
    if (!unit_race_reported && status == 0) {
        ck_assert_msg(!contains(output, "ThreadSanitizer"), "%s exited with status 0 but printed a"
                      " ThreadSanitizer report:\n%s", what, excerpt(output));
        return;
    }
    /* 66 is ThreadSanitizer's exit status after a report. */
    if (unit_race_reported)
        ck_assert_msg(status == 66, "stage %d keeps its data race on purpose (race in"
                      " stages/stages.txt), so ThreadSanitizer must report it and exit with"
                      " status 66; %s exited with %d instead. Fixed the race? Work on a"
                      " copy, checked against the next stage: make work FROM=%d\n%s",
                      unit_stage, what, status, unit_stage, excerpt(output));
    else
        ck_assert_msg(status == 66, "%s exited with status %d: want 0 (no race) or 66"
                      " (ThreadSanitizer's report):\n%s", what, status, excerpt(output));
    ck_assert_msg(contains(output, "WARNING: ThreadSanitizer: data race"),
                  "%s exited with status 66 but reported no data race:\n%s", what, excerpt(output));
    /* The intended race must be the only one: every report names it. */
    ck_assert_msg(count_of(output, "WARNING: ThreadSanitizer") ==
                  count_of(output, "Location is global 'visitor_count'"),
                  "a report that is not about visitor_count:\n%s", excerpt(output));
}

/* Direct parallel calls of the handler: deterministic. */
START_TEST(test_race_direct_calls)
{
    char *output = NULL;
    int status;

    tsan_without_aslr();
    for (int try = 0; try < TSAN_TRIES; try++) {
        free(output);
        status = run_program(required_environment("HI_RACE"), 150, &output);
        if (!tsan_died_at_start(output))
            break;
    }
    assert_race_verdict("the race test (tests/race.c)", status, output);
    if (unit_race_free)
        ck_assert_msg(contains(output, "every visitor number was handed out once"),
                      "the race test (tests/race.c) did not say every visitor number was"
                      " handed out once:\n%s", excerpt(output));
    /* The verdict, in the suite's output: the one expectation that
     * differs by stage (make stageN race shows the report itself). */
    printf("race: %s\n", unit_race_free ? "no data race, every visitor number handed out once"
                         : status == 66 ? "ThreadSanitizer reported the race on visitor_count"
                         : "no data race reported");
    fflush(stdout);
    free(output);
}
END_TEST

/* Through the live server. Several keep-alive clients at once force the
 * handlers to overlap; one client at a time would let civetweb's own
 * locks order them and hide the race. A racy stage gets up to
 * LIVE_RACE_ROUNDS rounds to show it. */
#define LIVE_RACE_ROUNDS 3
START_TEST(test_race_live_server)
{
    static unsigned long numbers[4 * 200];
    struct server_process server;
    struct numbering result;
    char line[160];
    char *output;
    int status;

    tsan_without_aslr();
    for (int round = 1;; round++) {
        for (int try = 1; server_start(&server, required_environment("HI_SERVER_TSAN"), "0") != 0; try++) {
            output = server_stderr(&server);
            ck_assert_msg(try < TSAN_TRIES && tsan_died_at_start(output),
                          "%s did not start: %s", getenv("HI_SERVER_TSAN"), start_failure(&server));
            unlink(server.stderr_path);
            free(output);
        }
        ck_assert_msg(fetch_in_parallel(server.port, 4, 200, numbers) == 0,
                      "4 clients x 200 requests to the ThreadSanitizer server: the clients could not run");
        status = server_stop(&server, SIGTERM);
        output = server_stderr(&server);
        unlink(server.stderr_path);
        /* A stage's race shows only where two handlers overlap, which on a
         * machine busy with other work may not happen in one round. */
        if (!unit_race_reported || status != 0 || round == LIVE_RACE_ROUNDS)
            break;
        free(output);
    }
    assert_race_verdict("the ThreadSanitizer server, stopped with SIGTERM,", status, output);
    free(output);

    check_numbering(numbers, 4 * 200, &result);
    ck_assert_msg(result.invalid == 0, "4 clients x 200 requests to the ThreadSanitizer server:"
                  " %zu responses were not a welcome page (%s)", result.invalid,
                  describe_numbering(&result, line, sizeof line));
    if (unit_race_free)
        ck_assert_msg(numbering_exact(&result, 1),
                      "4 clients x 200 requests: %s, want visitors 1..800 each once",
                      describe_numbering(&result, line, sizeof line));
}
END_TEST

/* Race-free stages, at full speed without ThreadSanitizer: round after
 * round of parallel calls for a second, every number exactly once. */
START_TEST(test_race_free_at_full_speed)
{
    static char *const arguments[] = { "race", "--until-wrong", "1", NULL };
    char *output = NULL;
    int status = run_program_with(required_environment("HI_RACE_NOTSAN"), arguments, 60, &output);

    ck_assert_msg(status == 0, "race --until-wrong 1: expected every round right, exit %d:\n%s",
                  status, excerpt(output));
    ck_assert_msg(contains(output, "every round right"),
                  "race --until-wrong 1 did not say every round was right:\n%s", excerpt(output));
    free(output);
}
END_TEST

/* Returns the "race" test case: empty where ThreadSanitizer cannot start
 * (tsan_starts()), which it says in one SKIPPED line, also written to
 * $HI_SKIPPED for make test's count. */
TCase *race_tcase(void)
{
    TCase *tc = tcase_create("race");
    const char *skipped = getenv("HI_SKIPPED");

    if (!tsan_starts()) {
        static const char why[] = "race tests: ThreadSanitizer cannot start on this kernel"
            " (its mmap randomisation is higher than it allows, vm.mmap_rnd_bits = 32 say) and"
            " this system forbids turning randomisation off: in a container, start it with"
            " --security-opt seccomp=unconfined; on the host: sudo sysctl vm.mmap_rnd_bits=28";
        FILE *file = skipped != NULL && *skipped != '\0' ? fopen(skipped, "w") : NULL;

        fprintf(stderr, "SKIPPED: %s\n", why);
        if (file != NULL) {
            fprintf(file, "%s\n", why);
            fclose(file);
        }
        return tc;
    }
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_race_direct_calls);
    tcase_add_test(tc, test_race_live_server);
    if (unit_race_free)
        tcase_add_test(tc, test_race_free_at_full_speed);
    return tc;
}
