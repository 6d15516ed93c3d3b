/*
 * contention_test.c - a program that makes exactly ROUNDS contended lock
 * calls, so that the contention profiler's count can be checked for
 * equality, not only bounded (profile-smoke.sh runs it under
 * profiles/contention.c and wants that number, no more and no less).
 *
 * Each round, the main thread holds round_lock and lets the waiter go;
 * the waiter calls pthread_mutex_lock() on it, which must wait. The main
 * thread gives the lock back only once the waiter is asleep in the
 * kernel (its /proc state is S: nothing else puts it to sleep), so the
 * waiter's lock call surely found the lock taken. The waiter then gives
 * it back and says so. Every other lock call here, the main thread's own
 * ROUNDS of them, finds the lock free, and must not be counted.
 *
 *   contention_test ROUNDS     prints "ROUNDS contended lock calls made"
 *
 * The two threads hand over with atomics and sched_yield(), never a
 * mutex or a condition variable, which the profiler would see too.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The lock the waiter waits for, once a round. */
static pthread_mutex_t round_lock = PTHREAD_MUTEX_INITIALIZER;

static atomic_int round_started;   /* rounds the main thread has begun */
static atomic_int round_finished;  /* rounds the waiter has finished */
static atomic_int waiter_tid;

/* Returns the state letter of thread tid of this process (R, S, D, ...),
 * or '?' when /proc cannot tell. */
static char thread_state(int tid)
{
    char path[64], state = '?';
    FILE *stat;

    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    stat = fopen(path, "r");
    if (stat == NULL)
        return '?';
    /* "tid (name) S ...": the name has no ')' here. */
    if (fscanf(stat, "%*d (%*[^)]) %c", &state) != 1)
        state = '?';
    fclose(stat);
    return state;
}

/* The waiter: each round, once begun, locks round_lock (and waits for
 * it), gives it back, and says the round is finished. Returns NULL. */
static void *waiter(void *rounds_pointer)
{
    int rounds = *(int *)rounds_pointer;

    atomic_store(&waiter_tid, (int)syscall(SYS_gettid));
    for (int round = 1; round <= rounds; round++) {
        while (atomic_load(&round_started) < round)
            sched_yield();
        pthread_mutex_lock(&round_lock);
        pthread_mutex_unlock(&round_lock);
        atomic_store(&round_finished, round);
    }
    return NULL;
}

/* Runs the rounds. Returns 0, or 1 when the waiter could not be watched. */
int main(int argc, char **argv)
{
    int rounds = argc == 2 ? atoi(argv[1]) : 0;
    pthread_t thread;

    if (rounds < 1) {
        fprintf(stderr, "usage: contention_test ROUNDS (a whole number from 1)\n");
        return 2;
    }
    if (pthread_create(&thread, NULL, waiter, &rounds) != 0) {
        fprintf(stderr, "contention_test: cannot start the waiter\n");
        return 1;
    }
    while (atomic_load(&waiter_tid) == 0)
        sched_yield();
    for (int round = 1; round <= rounds; round++) {
        pthread_mutex_lock(&round_lock);   /* free: the waiter is between rounds */
        atomic_store(&round_started, round);
        for (int polls = 0; thread_state(atomic_load(&waiter_tid)) != 'S'; polls++) {
            if (polls > 1000000) {
                fprintf(stderr, "contention_test: the waiter never slept in round %d\n", round);
                return 1;
            }
            sched_yield();
        }
        pthread_mutex_unlock(&round_lock);
        while (atomic_load(&round_finished) < round)
            sched_yield();
    }
    pthread_join(thread, NULL);
    printf("%d contended lock calls made\n", rounds);
    return 0;
}
