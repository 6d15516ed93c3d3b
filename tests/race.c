/*
 * race.c - the parallel test that `make stageN race` runs.
 *
 * Four threads call the stage's handler at the same moment, and then the
 * visitor numbers they got are checked: 1, 2, 3, ... each exactly once.
 * It is built twice:
 *
 *   with -fsanitize=thread, it plays the part of `go test -race`: where
 *   the handler has a data race, ThreadSanitizer prints a report naming
 *   both accesses and turns the exit status into 66, whatever the
 *   numbers said. ThreadSanitizer slows every access down, so the race
 *   rarely gets to do harm in that build: the report is the finding;
 *
 *   without it, `race --until-wrong 20` shows the harm itself: it repeats
 *   rounds until a number is handed out twice (or skipped), for at most
 *   20 seconds, and says how many rounds that took.
 *
 * Exit status: 0 when every number was right, 1 when some were wrong,
 * 2 when it could not run (66 from ThreadSanitizer, see above).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hi.h"
#include "server_process.h"
#include "visitors.h"

#define THREADS 4
#define REQUESTS 500                /* per thread, in a ThreadSanitizer round */
#define REQUESTS_UNSANITIZED 50000  /* per thread, in an --until-wrong round */

/* Runs one round of threads * requests calls. The stage has handed out
 * `before` numbers so far, so this round's must be before + 1, before + 2,
 * ... each exactly once. Returns 1 when they were, 0 when not, -1 when the
 * threads could not run; result gets the details. */
static int run_round(int requests, unsigned long before, unsigned long *numbers,
                     struct numbering *result)
{
    size_t count = (size_t)THREADS * (size_t)requests;

    if (handle_in_parallel(THREADS, requests, numbers) != 0)
        return -1;
    check_numbering(numbers, count, result);
    return numbering_exact(result, before + 1);
}

/* Prints one line about a round's numbers. */
static void print_numbering(const char *prefix, const struct numbering *result)
{
    char line[160];

    printf("%s%zu requests on %d threads:\n        %s\n", prefix, result->count, THREADS,
           describe_numbering(result, line, sizeof line));
}

/* One round, as ThreadSanitizer's build runs it. Returns the exit status. */
static int one_round(void)
{
    static unsigned long numbers[THREADS * REQUESTS];
    struct numbering result;
    int exact = run_round(REQUESTS, 0, numbers, &result);

    if (exact < 0)
        return 2;
    print_numbering("race: ", &result);
    puts(exact ? "race: every visitor number was handed out once in this run"
               : "race: FAIL: visitor numbers are wrong (handed out twice, or skipped)");
    return exact ? 0 : 1;
}

/* Rounds until the numbers go wrong or seconds pass. Returns the exit
 * status: 1 once the harm showed, 0 if it never did. */
static int until_wrong(int seconds)
{
    static unsigned long numbers[THREADS * REQUESTS_UNSANITIZED];
    long long deadline = monotonic_ms() + seconds * 1000LL;
    struct numbering result;
    char wrong[64];
    int rounds = 0, exact;

    do {
        exact = run_round(REQUESTS_UNSANITIZED,
                          (unsigned long)rounds * THREADS * REQUESTS_UNSANITIZED,
                          numbers, &result);
        rounds++;
    } while (exact == 1 && monotonic_ms() < deadline);
    if (exact < 0)
        return 2;
    printf("race: without ThreadSanitizer, %d round%s of %d requests on %d threads:\n",
           rounds, rounds == 1 ? "" : "s", THREADS * REQUESTS_UNSANITIZED, THREADS);
    snprintf(wrong, sizeof wrong, "race:   numbers WRONG in round %d: ", rounds);
    print_numbering(exact ? "race:   every round right; the last: " : wrong, &result);
    return exact ? 0 : 1;
}

/* race [--until-wrong SECONDS]. Returns the exit status described above. */
int main(int argc, char **argv)
{
    int until = argc == 3 && strcmp(argv[1], "--until-wrong") == 0 ? atoi(argv[2]) : 0;
    int status;

    if (argc != 1 && until <= 0) {
        fprintf(stderr, "usage: race [--until-wrong SECONDS]\n");
        return 2;
    }
    if (hi_init() != 0)
        return 2;
    status = until > 0 ? until_wrong(until) : one_round();
    hi_shutdown();
    return status;
}
