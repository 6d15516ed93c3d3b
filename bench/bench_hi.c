/*
 * bench_hi.c - the benchmarks every stage runs (`make stageN bench`).
 *
 * BenchmarkHi and BenchmarkHiParallel call the stage's handler through the
 * router and the recorder, exactly as a request would reach it, without
 * a socket. The BenchmarkVisitCount* family does not depend on the stage:
 * it prices ways of counting visitors from many threads at once.
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

/* What a request does with shared memory, without the rest of it: count
 * one visitor, and read the pattern pointer that every request reads.
 * The variants differ in one thing each, so that two of them side by
 * side (make visitcount) price one decision of the stages:
 *
 *   Mutex             a lock around a plain count
 *   Atomic            the stages' counter: atomic_fetch_add (sequentially
 *                     consistent), alone on its cache lines, as in stage 5
 *   Relaxed           the same add, memory_order_relaxed
 *   PerThread         each thread its own counter, on its own lines
 *   Packed            the same per-thread counters side by side in one
 *                     line: nothing shared, and the line moves all the
 *                     same (false sharing)
 *
 * Each variable below gets its lines to itself (CACHE_LINE_PAIR, as in
 * the stages), so that where the linker puts them cannot change the
 * numbers from one stage's binary to the next. _Alignas on a struct's
 * first member aligns the struct, and C rounds its size up to that
 * alignment: the struct fills its 128 bytes. */
#define CACHE_LINE_PAIR 128

/* The pointer every request reads, alone on its lines. Its value is
 * never used: only the read matters. */
static struct {
    _Alignas(CACHE_LINE_PAIR) _Atomic(const void *) pointer;
} pattern = { .pointer = &pattern };

static struct {
    _Alignas(CACHE_LINE_PAIR) pthread_mutex_t lock;
    unsigned long count;
} locked_counter = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* One atomic alone on its lines. */
struct padded_count {
    _Alignas(CACHE_LINE_PAIR) atomic_ulong count;
};
_Static_assert(sizeof(struct padded_count) == CACHE_LINE_PAIR, "one counter, two lines");

static struct padded_count atomic_count, relaxed_count;

/* Reads the pattern pointer at pattern, as a request's match does. A
 * relaxed load is a plain load on every CPU; being atomic, it cannot be
 * hoisted out of the loop. */
static void read_pattern(_Atomic(const void *) *pattern)
{
    bench_keep(atomic_load_explicit(pattern, memory_order_relaxed));
}

/* The rest of a request, which touches nothing shared: REQUEST_WORK
 * rounds of a dependent xorshift, some tens of nanoseconds. A request
 * reads the pattern, works, counts, and works again; back to back, a read
 * and an add of one cache line would travel together, as they never do
 * in the handler. */
#define REQUEST_WORK 8

static void request_work(void)
{
    unsigned long state = 88172645463325252UL;

    for (int round = 0; round < REQUEST_WORK; round++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bench_keep((const void *)state);
    }
}

/* A plain counter behind a mutex: correct, but every increment is a lock
 * and an unlock, and the threads queue for it. */
static void count_with_mutex(struct bench_parallel *p)
{
    while (bench_next(p)) {
        read_pattern(&pattern.pointer);
        request_work();
        pthread_mutex_lock(&locked_counter.lock);
        locked_counter.count++;
        pthread_mutex_unlock(&locked_counter.lock);
        request_work();
    }
}

static void BenchmarkVisitCountMutex(struct bench *b)
{
    bench_run_parallel(b, count_with_mutex);
}

/* The stages' counter: one atomic add, no lock, but its cache line moves
 * to whichever CPU adds next. */
static void count_with_atomic(struct bench_parallel *p)
{
    while (bench_next(p)) {
        read_pattern(&pattern.pointer);
        request_work();
        atomic_fetch_add(&atomic_count.count, 1);
        request_work();
    }
}

static void BenchmarkVisitCountAtomic(struct bench *b)
{
    bench_run_parallel(b, count_with_atomic);
}

/* The same add with no ordering of other memory around it. Enough for a
 * number that publishes nothing: each visitor still gets a number of
 * their own. On x86-64 it compiles to the same locked add as Atomic (an
 * A/A pair: what the noise alone does); on arm64 with LSE, to ldadd in
 * place of ldaddal, behind gcc's outline-atomics helper. */
static void count_relaxed(struct bench_parallel *p)
{
    while (bench_next(p)) {
        read_pattern(&pattern.pointer);
        request_work();
        atomic_fetch_add_explicit(&relaxed_count.count, 1, memory_order_relaxed);
        request_work();
    }
}

static void BenchmarkVisitCountRelaxed(struct bench *b)
{
    bench_run_parallel(b, count_relaxed);
}

/* One counter per thread, each on its own lines, added up only when
 * somebody asks for the total. Nothing is shared while counting (but a
 * total read mid-count is only approximate). */
#define MAX_COUNTERS 64
static struct padded_count thread_counts[MAX_COUNTERS];

/* The same counters packed, 8 bytes each: eight threads' counters in one
 * 64-byte line. Still nothing is shared, yet the line moves from CPU to
 * CPU on every count: false sharing in its pure form, which padding
 * (thread_counts) cures. */
static struct {
    _Alignas(CACHE_LINE_PAIR) atomic_ulong count[MAX_COUNTERS];
} packed_counts;

/* Where the next worker's slot is, in each of the two arrays. */
static struct {
    _Alignas(CACHE_LINE_PAIR) atomic_int next;
} padded_slots, packed_slots;

/* Returns the next free slot of slots: each worker thread gets its own. */
static int claim_slot(atomic_int *next)
{
    return atomic_fetch_add(next, 1) % MAX_COUNTERS;
}

/* One worker's loop, counting at mine, which only this thread writes:
 * a relaxed load and store suffice, no read-modify-write. */
static void count_at(struct bench_parallel *p, atomic_ulong *mine)
{
    while (bench_next(p)) {
        read_pattern(&pattern.pointer);
        request_work();
        atomic_store_explicit(mine, atomic_load_explicit(mine, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        request_work();
    }
}

static void count_per_thread(struct bench_parallel *p)
{
    count_at(p, &thread_counts[claim_slot(&padded_slots.next)].count);
}

static void BenchmarkVisitCountPerThread(struct bench *b)
{
    bench_run_parallel(b, count_per_thread);
}

static void count_per_thread_packed(struct bench_parallel *p)
{
    count_at(p, &packed_counts.count[claim_slot(&packed_slots.next)]);
}

static void BenchmarkVisitCountPacked(struct bench *b)
{
    bench_run_parallel(b, count_per_thread_packed);
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
        { "BenchmarkVisitCountRelaxed", BenchmarkVisitCountRelaxed },
        { "BenchmarkVisitCountPerThread", BenchmarkVisitCountPerThread },
        { "BenchmarkVisitCountPacked", BenchmarkVisitCountPacked },
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
