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
 * "-2" is the number of CPUs, as GOMAXPROCS is in Go. Environment:
 *   BENCH=regex        run only benchmarks whose name matches (like -bench)
 *   BENCHTIME=1s       target time per run; "0.5s", "200ms" or "1000x"
 *   COUNT=1            repetitions of each benchmark (like -count)
 *   BENCH_JSON=path    also write Google Benchmark JSON, which Debian's
 *                      /usr/share/benchmark/compare.py reads
 *   BENCH_ALLOCS_MAX=n fail any benchmark above n allocs/op (0: also 0 B/op)
 */
#ifndef BENCH_H
#define BENCH_H

struct bench_run;        /* the harness's private state for one run */
struct bench_parallel;   /* one worker's view of a parallel run */

struct bench {
    long n;                      /* run the body this many times */
    struct bench_run *run;       /* private */
};

typedef void (*bench_function)(struct bench *b);

struct benchmark {
    const char *name;            /* "BenchmarkHi" */
    bench_function function;
};

/* Timer control, as b.ResetTimer, b.StopTimer and b.StartTimer in Go:
 * exclude set-up from the measurement. Allocations are counted only while
 * the timer runs. */
void bench_reset_timer(struct bench *b);
void bench_stop_timer(struct bench *b);
void bench_start_timer(struct bench *b);

/* Runs body on one thread per CPU until b->n iterations are done in all,
 * like b.RunParallel. Each body loops `while (bench_next(p))`, keeping its
 * per-thread state in local variables. */
void bench_run_parallel(struct bench *b, void (*body)(struct bench_parallel *p));

/* Returns 1 while the calling worker should run one more iteration. */
int bench_next(struct bench_parallel *p);

/* Runs the selected benchmarks of list (count entries) as the environment
 * says. Returns the exit status for main(): 0, or 1 on bad settings. */
int bench_main(const struct benchmark *list, int count, const char *package);

/* Consumes a value so the compiler cannot optimize away what made it. */
void bench_keep(const void *value);

#endif
