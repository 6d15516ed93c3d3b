/*
 * bench.h - a benchmark harness in the manner of Go's testing.B.
 *
 * A benchmark is a function that runs its body b->n times:
 *
 *     static void BenchmarkSomething(struct bench *b)
 *     {
 *         for (long i = 0; i < b->n; i++)
 *             something();
 *     }
 *
 * The harness calls it with growing n until one run lasts BENCHTIME, then
 * prints one line the way `go test -bench` does:
 *
 *     BenchmarkSomething-2   1000000   1451 ns/op   32 B/op   2 allocs/op
 *
 * "-2" is the number of CPUs this process may run on (its affinity mask),
 * as GOMAXPROCS is in Go. Environment:
 *   BENCH=regex        run only benchmarks whose name matches (like -bench)
 *   BENCHTIME=1s       target time per run; "0.5s", "200ms" or "1000x"
 *   COUNT=1            repetitions of each benchmark (like -count)
 *   BENCH_JSON=path    also write Google Benchmark JSON, which Debian's
 *                      /usr/share/benchmark/compare.py reads
 *   BENCH_ALLOCS_MAX=n fail any benchmark above n allocs/op (0: also 0 B/op)
 *
 * The contracts of these functions are in bench.c, next to their code.
 */
#ifndef BENCH_H
#define BENCH_H

struct bench_run;        /* the harness's private state for one run */

struct bench {
    long n;                      /* run the body this many times */
    struct bench_run *run;       /* private */
};

typedef void (*bench_function)(struct bench *b);

struct benchmark {
    const char *name;            /* "BenchmarkHi" */
    bench_function function;
};

/* b.ResetTimer, b.StopTimer, b.StartTimer. */
void bench_reset_timer(struct bench *b);
void bench_stop_timer(struct bench *b);
void bench_start_timer(struct bench *b);

/* go test -bench, for the benchmarks of list. */
int bench_main(const struct benchmark *list, int count, const char *package);

/* ============================ Parallel benchmarks ======================== */

/* One worker of a parallel run. Each sits on cache lines of its own: a
 * worker writes `left` on every iteration, and two workers sharing a line
 * would make the harness itself stop parallel runs from scaling. */
struct bench_parallel {
    _Alignas(64) long left;      /* iterations claimed, not yet run */
    struct bench_pool *pool;     /* private */
};

/* b.RunParallel. */
void bench_run_parallel(struct bench *b, void (*body)(struct bench_parallel *p));

/* bench_next()'s slow path. */
int bench_claim(struct bench_parallel *p);

/* Returns 1 while the calling worker should run one more iteration, like
 * Go's pb.Next(). Inline, so that the harness adds a decrement and a
 * branch per iteration, not a call: BenchmarkEmptyParallel shows what
 * is left. Each body loops `while (bench_next(p))`. */
static inline int bench_next(struct bench_parallel *p)
{
    if (p->left > 0) {
        p->left--;
        return 1;
    }
    return bench_claim(p);
}

/* ============================ Keeping results ============================ */

/* Makes the compiler believe value, and all memory, is read here, so the
 * work that produced them cannot be optimized away, whatever the compiler
 * sees (link-time optimization included). It emits no instruction, as
 * Google Benchmark's DoNotOptimize. */
static inline void bench_keep(const void *value)
{
    __asm__ __volatile__("" : : "r"(value) : "memory");
}

/* Returns pointer unchanged, but the compiler can no longer tell where it
 * points: what a benchmark passes in (a query, a writer) then arrives as
 * it would from the network, not as a constant that whole-program
 * optimization could build a special copy of the handler for. It emits
 * no instruction. */
static inline void *bench_opaque(const void *pointer)
{
    __asm__ __volatile__("" : "+r"(pointer));
    return (void *)pointer;
}

#endif
