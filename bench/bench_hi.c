/*
 * bench_hi.c - the benchmarks every stage runs (`make stageN bench`).
 *
 * BenchmarkHi and BenchmarkHiParallel call the stage's handler through the
 * router and the recorder, exactly as a request would reach it, without
 * a socket. The BenchmarkVisitCount* family does not depend on the stage:
 * it prices three ways of counting visitors from many threads at once.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "hi.h"
#include "recorder.h"
#include "router.h"
#include "unit.h"

/* ============================ The handler ================================ */

/* The query every benchmarked request sends: color=red, or with
 * BENCH_QUERY=... another one, so that a cost which grows with the
 * query's length can be measured at more than one length. */
static const char *bench_query = "color=red";

/* Sends GET /hi?<bench_query> through the router to the stage's handler,
 * as civetweb would, from pointers the compiler cannot see through. */
static void send_request(struct recorder *recorder)
{
    recorder_reset(recorder);
    route_request(bench_opaque(&recorder->writer), bench_opaque("GET"), bench_opaque("/hi"),
                  bench_opaque(bench_query));
}

/* One request after another on one thread. */
static void BenchmarkHi(struct bench *b)
{
    struct recorder recorder;

    recorder_init(&recorder);
    bench_reset_timer(b);
    for (long i = 0; i < b->n; i++)
        send_request(&recorder);
    bench_keep(recorder.body);
}

/* Each worker thread's loop: its own recorder, the shared handler. */
static void hi_parallel_body(struct bench_parallel *p)
{
    struct recorder recorder;

    recorder_init(&recorder);
    while (bench_next(p))
        send_request(&recorder);
    bench_keep(recorder.body);
}

/* Requests on every CPU at once: where shared state and locks show up. */
static void BenchmarkHiParallel(struct bench *b)
{
    bench_run_parallel(b, hi_parallel_body);
}

/* ============================ The harness ================================ */

/* An empty body: what the harness itself costs per parallel iteration
 * (a decrement, a branch, a batch claimed now and then). Subtract it in
 * your head from the other parallel results; it should be tiny. */
static void empty_parallel_body(struct bench_parallel *p)
{
    while (bench_next(p))
        ;
}

/* The harness's own cost, with nothing to measure. */
static void BenchmarkEmptyParallel(struct bench *b)
{
    bench_run_parallel(b, empty_parallel_body);
}

/* ============================ Counting visitors ========================== */

/* Each shared counter gets a cache line of its own, so that where the
 * linker happens to place it (next to which other variable) cannot change
 * the numbers from one stage's binary to the next. _Alignas on a struct's
 * first member is enough: it aligns the struct, and C rounds the struct's
 * size up to that alignment, which pads it to the end of its line. */
#define CACHE_LINE 64

static struct {
    _Alignas(CACHE_LINE) pthread_mutex_t lock;
    unsigned long count;
} locked_counter = { .lock = PTHREAD_MUTEX_INITIALIZER };
_Static_assert(sizeof locked_counter == CACHE_LINE, "the mutex and its count fill one cache line");

/* A plain counter behind a mutex: correct, but every increment is a lock
 * and an unlock, and the threads queue for it. */
static void count_with_mutex(struct bench_parallel *p)
{
    while (bench_next(p)) {
        pthread_mutex_lock(&locked_counter.lock);
        locked_counter.count++;
        pthread_mutex_unlock(&locked_counter.lock);
    }
}

/* The visitor counter behind a mutex, one worker per CPU. */
static void BenchmarkVisitCountMutex(struct bench *b)
{
    bench_run_parallel(b, count_with_mutex);
}

/* One atomic alone on its cache line. */
struct padded_count {
    _Alignas(CACHE_LINE) atomic_ulong count;
};
_Static_assert(sizeof(struct padded_count) == CACHE_LINE, "one counter, one cache line");

static struct padded_count atomic_count;

/* One atomic add: no lock, but the cache line still moves between CPUs
 * on every increment. */
static void count_with_atomic(struct bench_parallel *p)
{
    while (bench_next(p))
        atomic_fetch_add_explicit(&atomic_count.count, 1, memory_order_relaxed);
}

/* One shared atomic: the price of moving its cache line between CPUs,
 * alone. Not quite the stages' counter: theirs is sequentially consistent
 * (atomic_fetch_add; on x86-64 the same lock xadd, on arm64 a stronger
 * barrier) and shares its cache line with other variables. */
static void BenchmarkVisitCountAtomic(struct bench *b)
{
    bench_run_parallel(b, count_with_atomic);
}

/* One counter per thread, each on its own cache line, added up only when
 * somebody asks for the total. Nothing is shared while counting (but a
 * total read mid-count is only approximate). */
#define MAX_COUNTERS 64
static struct padded_count thread_counts[MAX_COUNTERS];
static struct {
    _Alignas(CACHE_LINE) atomic_int next;   /* the slot the next worker takes */
} counter_slots;
_Static_assert(sizeof counter_slots == CACHE_LINE, "the slot counter alone on its line");

/* One worker's loop: claims a slot of its own, then counts there. */
static void count_per_thread(struct bench_parallel *p)
{
    int slot = atomic_fetch_add(&counter_slots.next, 1) % MAX_COUNTERS;
    atomic_ulong *mine = &thread_counts[slot].count;

    while (bench_next(p)) {
        /* Only this thread writes its slot: a relaxed load and store
         * suffice, no read-modify-write crosses CPUs. */
        unsigned long value = atomic_load_explicit(mine, memory_order_relaxed);

        atomic_store_explicit(mine, value + 1, memory_order_relaxed);
    }
}

/* Per-thread counters: what counting costs when nothing is shared. */
static void BenchmarkVisitCountPerThread(struct bench *b)
{
    bench_run_parallel(b, count_per_thread);
}

/* ============================ Main ======================================= */

/* Runs the benchmarks against the stage linked in. Returns 0 when all
 * ran (and stayed within BENCH_ALLOCS_MAX), 1 otherwise. */
int main(void)
{
    static const struct benchmark benchmarks[] = {
        { "BenchmarkHi", BenchmarkHi },
        { "BenchmarkHiParallel", BenchmarkHiParallel },
        { "BenchmarkVisitCountMutex", BenchmarkVisitCountMutex },
        { "BenchmarkVisitCountAtomic", BenchmarkVisitCountAtomic },
        { "BenchmarkVisitCountPerThread", BenchmarkVisitCountPerThread },
        { "BenchmarkEmptyParallel", BenchmarkEmptyParallel },
    };
    const char *query = getenv("BENCH_QUERY");
    int status;

    if (query != NULL)
        bench_query = query;
    if (hi_init() != 0)
        return 1;
    status = bench_main(benchmarks, sizeof benchmarks / sizeof benchmarks[0], unit_name);
    hi_shutdown();
    return status;
}
