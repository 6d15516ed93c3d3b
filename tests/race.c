/*
 * race.c - the parallel test that `make stageN race` runs.
 *
 * Built with -fsanitize=thread, it plays the part of `go test -race`:
 * four threads call the stage's handler at the same moment, 500 times
 * each. Where the handler has a data race, ThreadSanitizer prints a
 * report naming both accesses and the process exits with status 66.
 *
 * It also checks what the race breaks: every visitor number 1..2000 must
 * be handed out exactly once.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hi.h"
#include "visitors.h"

#define THREADS 4
#define REQUESTS 500

/* Returns 0 when the numbers are exact, 1 when they are not; under
 * ThreadSanitizer a race turns a 0 into 66 at exit. */
int main(void)
{
    static unsigned long numbers[THREADS * REQUESTS];
    struct numbering result;
    int broken;

    if (hi_init() != 0)
        return 1;
    if (handle_in_parallel(THREADS, REQUESTS, numbers) != 0)
        return 1;
    hi_shutdown();

    check_numbering(numbers, THREADS * REQUESTS, &result);
    printf("race: %zu requests on %d threads: visitors %lu..%lu, "
           "%zu duplicates, %zu missing, %zu bad responses\n",
           result.count, THREADS, result.lowest, result.highest,
           result.duplicates, result.missing, result.invalid);
    broken = result.duplicates || result.missing || result.invalid ||
             result.lowest != 1 || result.highest != THREADS * REQUESTS;
    /* ThreadSanitizer turns a clean exit into status 66 if it saw a race. */
    puts(broken ? "race: visitor numbers are WRONG" : "race: visitor numbers are exact");
    return broken ? 1 : 0;
}
