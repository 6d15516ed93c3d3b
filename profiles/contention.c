/*
 * contention.c - a mutex contention profiler, loaded with LD_PRELOAD.
 *
 * Go has `go test -blockprofile`; C on Debian has no packaged equivalent
 * (mutrace is not packaged, and `perf lock` sees only kernel locks). This
 * library fills the gap. It defines pthread_mutex_lock, so every lock in
 * the program comes here first:
 *
 *   1. try the lock without waiting; if that works, nothing is recorded;
 *   2. otherwise take the caller's stack, then time the real, blocking
 *      lock and record the wait under that stack.
 *
 * The stack is taken before waiting, not after: once the lock is held,
 * every microsecond spent unwinding would lengthen the critical section
 * and make the other threads wait longer - the profiler would inflate
 * the very contention it measures.
 *
 * At exit it writes the totals in gperftools' "--- contention" format to
 * $CONTENTION_PROFILE, which google-pprof reads like any other profile:
 *
 *   CONTENTION_PROFILE=block.prof LD_PRELOAD=./libcontention.so ./bench
 *   google-pprof --text --contentions ./bench block.prof
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DEPTH 32
#define MAX_STACKS 4096   /* distinct stacks kept; more are counted as lost */

/* ============================ State ====================================== */

struct contended_stack {
    int depth;
    void *frames[MAX_DEPTH];
    unsigned long long wait_ns;   /* total time spent blocked */
    unsigned long long count;     /* how many times it blocked */
};

static int (*real_mutex_lock)(pthread_mutex_t *mutex);
static struct contended_stack stacks[MAX_STACKS];
static int stack_count;
static unsigned long long lost_samples;
/* Guards stacks[]. A spin lock of our own: taking a pthread mutex here
 * would come straight back into this file. */
static atomic_flag table_lock = ATOMIC_FLAG_INIT;
/* Set while a thread is inside the recorder, so any lock taken by
 * backtrace() itself goes straight to the real function. */
static _Thread_local int recording;

/* Returns nanoseconds on a monotonic clock. */
static unsigned long long now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned long long)t.tv_sec * 1000000000ULL + (unsigned long long)t.tv_nsec;
}

/* ============================ Recording ================================== */

/* Adds one wait of wait_ns at the stack frames[0..depth) to the table. */
static void record(void **frames, int depth, unsigned long long wait_ns)
{
    int i;

    while (atomic_flag_test_and_set_explicit(&table_lock, memory_order_acquire))
        ;
    for (i = 0; i < stack_count; i++) {
        if (stacks[i].depth == depth &&
            memcmp(stacks[i].frames, frames, (size_t)depth * sizeof frames[0]) == 0)
            break;
    }
    if (i == stack_count && stack_count < MAX_STACKS) {
        stacks[i].depth = depth;
        memcpy(stacks[i].frames, frames, (size_t)depth * sizeof frames[0]);
        stack_count++;
    }
    if (i < stack_count) {
        stacks[i].wait_ns += wait_ns;
        stacks[i].count++;
    } else {
        lost_samples++;
    }
    atomic_flag_clear_explicit(&table_lock, memory_order_release);
}

/* Finds the real pthread_mutex_lock. The first backtrace() loads libgcc's
 * unwinder, which allocates and locks, so it happens here, once. */
__attribute__((constructor)) static void contention_start(void)
{
    void *warm_up[2];

    real_mutex_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
    recording = 1;
    backtrace(warm_up, 2);
    recording = 0;
}

/* The interposed lock. Returns what the real pthread_mutex_lock returns. */
int pthread_mutex_lock(pthread_mutex_t *mutex)
{
    void *frames[MAX_DEPTH + 1];
    unsigned long long started;
    int result, depth;

    if (real_mutex_lock == NULL)
        real_mutex_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
    if (recording)
        return real_mutex_lock(mutex);
    /* Only EBUSY means somebody else holds it. 0 and EOWNERDEAD (a robust
     * mutex whose owner died) both mean we now hold it; anything else is
     * an error the real lock would report too. */
    result = pthread_mutex_trylock(mutex);
    if (result != EBUSY)
        return result;

    recording = 1;
    /* frames[0] is this function; the caller's chain starts at 1. */
    depth = backtrace(frames, MAX_DEPTH + 1) - 1;
    recording = 0;
    /* frames[1] is a return address, just past the call: step back into
     * the call so pprof's --list charges the line that locked. (pprof
     * does that itself for every frame but the first.) */
    if (depth > 0)
        frames[1] = (char *)frames[1] - 1;

    started = now_ns();
    result = real_mutex_lock(mutex);
    if (depth > 0) {
        recording = 1;
        record(frames + 1, depth, now_ns() - started);
        recording = 0;
    }
    return result;
}

/* ============================ Writing ==================================== */

/* Copies /proc/self/maps to out: google-pprof needs it to find symbols. */
static void write_maps(FILE *out)
{
    char buffer[4096];
    size_t got;
    FILE *maps = fopen("/proc/self/maps", "r");

    if (maps == NULL)
        return;
    while ((got = fread(buffer, 1, sizeof buffer, maps)) > 0)
        fwrite(buffer, 1, got, out);
    fclose(maps);
}

/* Writes the profile at exit. Delays are in nanoseconds, so the clock
 * rate google-pprof should assume is 1e9 "cycles" per second. */
__attribute__((destructor)) static void contention_write(void)
{
    const char *path = getenv("CONTENTION_PROFILE");
    unsigned long long total = 0;
    FILE *out;

    if (path == NULL || *path == '\0')
        return;
    out = fopen(path, "w");
    if (out == NULL) {
        fprintf(stderr, "contention: cannot write %s\n", path);
        return;
    }
    recording = 1;   /* stdio's own locking must not be recorded */
    fprintf(out, "--- contention\ncycles/second = 1000000000\nsampling period = 1\n");
    for (int i = 0; i < stack_count; i++) {
        fprintf(out, "%llu %llu @", stacks[i].wait_ns, stacks[i].count);
        for (int f = 0; f < stacks[i].depth; f++)
            fprintf(out, " %p", stacks[i].frames[f]);
        fprintf(out, "\n");
        total += stacks[i].count;
    }
    write_maps(out);
    fclose(out);
    fprintf(stderr, "contention: %llu contended lock calls at %d stacks%s written to %s\n",
            total, stack_count, lost_samples ? " (some stacks lost)" : "", path);
}
