/*
 * bench.c - a benchmark harness in the manner of Go's testing.B (bench.h).
 *
 * The growth rule and the output follow Go's testing package, so numbers
 * read the same way in both languages. What the harness does on its own
 * account stays out of the measurement: worker threads are started once,
 * outside the timer; allocations are counted per thread (alloc_count.c);
 * and a parallel run says so when its workers did not get their CPUs.
 */
#define _GNU_SOURCE   /* sched_getaffinity and CPU_COUNT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif

#include "alloc_count.h"
#include "bench.h"

#define MAX_ITERATIONS 1000000000L
#define MAX_RESULTS 256

/* A run whose threads spent more than this share of it waiting for a CPU
 * (another process had it) measured the machine, not the code. Runs under
 * 10 ms are not judged: waking the workers alone is that share of them. */
#define CPU_WAIT_WARNING 0.10

/* ============================ The measured run =========================== */

/* gperftools' heap profiler, when the binary is linked with tcmalloc
 * (`make stageN memprofile`); weak, so other builds need not have it. */
extern void HeapProfilerDump(const char *reason) __attribute__((weak));
extern int IsHeapProfilerRunning(void) __attribute__((weak));

/* Tells `perf stat --control` (make stageN stat) to count from here, or
 * to stop: BENCH_PERF_CONTROL names the two FIFOs perf listens and
 * answers on, "control,acknowledge". Returns once perf has answered. */
static void tell_perf(const char *command)
{
    const char *fifos = getenv("BENCH_PERF_CONTROL");
    const char *comma = fifos ? strchr(fifos, ',') : NULL;
    char control[256], ack[8];
    int to_perf, from_perf;

    if (comma == NULL || (size_t)(comma - fifos) >= sizeof control)
        return;
    memcpy(control, fifos, (size_t)(comma - fifos));
    control[comma - fifos] = '\0';
    to_perf = open(control, O_WRONLY | O_CLOEXEC);
    from_perf = open(comma + 1, O_RDONLY | O_CLOEXEC);
    /* perf answers "ack"; until it has, it may not be counting yet. */
    if (to_perf >= 0 && from_perf >= 0 && write(to_perf, command, strlen(command)) > 0
        && read(from_perf, ack, sizeof ack) <= 0)
        fputs("bench: perf stat did not answer its control FIFO\n", stderr);
    if (to_perf >= 0)
        close(to_perf);
    if (from_perf >= 0)
        close(from_perf);
}

/* Marks the start or the end of the run that BENCHTIME=Nx reports, for the
 * tools watching from outside, so that warm-up and set-up never count:
 * callgrind (make stageN instr) zeroes its counts at the start and writes
 * them out at the end; perf stat counts only in between; and the heap
 * profiler dumps at both ends, so that `google-pprof --base` shows what
 * the measured run allocated and nothing else. */
static void mark_measured_run(int starting, const char *name)
{
#ifdef HAVE_CALLGRIND
    if (starting)
        CALLGRIND_ZERO_STATS;
    else
        CALLGRIND_DUMP_STATS_AT(name);
#else
    (void)name;
#endif
    tell_perf(starting ? "enable\n" : "disable\n");
    if (IsHeapProfilerRunning != NULL && IsHeapProfilerRunning() && HeapProfilerDump != NULL)
        HeapProfilerDump(starting ? "measured run starts" : "measured run ends");
}

/* ============================ Timing ===================================== */

struct bench_run {
    int timer_on;
    int warm_up;                               /* the untimed first run */
    long long started_ns, started_cpu_ns;
    struct alloc_totals started_allocs;
    long long elapsed_ns, elapsed_cpu_ns;      /* while the timer ran */
    unsigned long long allocations, bytes;     /* while the timer ran */
    int threads;                               /* workers of a parallel run, else 1 */
    long long cpu_wait_ns;                     /* runnable but not running, all threads */
    long long steal_ns;                        /* the hypervisor's, all CPUs of the machine */
};

/* Returns the time of clock in nanoseconds. */
static long long clock_ns(clockid_t clock)
{
    struct timespec t;

    clock_gettime(clock, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Returns how long thread tid of this process (0: the calling thread) has
 * waited, runnable, for a CPU since it started: the second field of its
 * schedstat file, or 0 where the kernel does not say. Plain open and
 * read, not stdio, which would allocate. Costs a few system calls: call
 * it outside the timer, never per iteration. */
static long long cpu_wait_ns(pid_t tid)
{
    char path[64], text[128];
    unsigned long long running, waiting;
    int fd;
    ssize_t length;

    if (tid == 0)
        snprintf(path, sizeof path, "/proc/thread-self/schedstat");
    else
        snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", (int)tid);
    fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    length = read(fd, text, sizeof text - 1);
    close(fd);
    if (length <= 0)
        return 0;
    text[length] = '\0';
    if (sscanf(text, "%llu %llu", &running, &waiting) != 2)
        return 0;
    return (long long)waiting;
}

/* Returns the time the hypervisor has held back this machine's CPUs from
 * it since boot, all CPUs together ("steal": the eighth number of
 * /proc/stat's cpu line, in clock ticks), in nanoseconds; 0 where the
 * kernel does not say. A thread waiting for a CPU shows in its schedstat,
 * but a virtual CPU that the host gave to another guest does not: on a
 * shared VM this is the larger part of the noise. Call it outside the
 * timer. */
static long long steal_ns(void)
{
    char text[256];
    unsigned long long ticks[8];
    long per_second = sysconf(_SC_CLK_TCK);
    int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
    ssize_t length;

    if (fd < 0)
        return 0;
    length = read(fd, text, sizeof text - 1);
    close(fd);
    if (length <= 0 || per_second <= 0)
        return 0;
    text[length] = '\0';
    if (sscanf(text, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &ticks[0], &ticks[1],
               &ticks[2], &ticks[3], &ticks[4], &ticks[5], &ticks[6], &ticks[7]) != 8)
        return 0;
    return (long long)(ticks[7] * (1000000000ULL / (unsigned long long)per_second));
}

/* Starts counting time and allocations, as b.StartTimer; a no-op when the
 * timer already runs, as in Go. */
void bench_start_timer(struct bench *b)
{
    struct bench_run *run = b->run;

    if (run->timer_on)
        return;
    alloc_totals(&run->started_allocs);
    run->started_cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    run->started_ns = clock_ns(CLOCK_MONOTONIC);
    run->timer_on = 1;
}

/* Adds what passed since bench_start_timer() to the run, as b.StopTimer. */
void bench_stop_timer(struct bench *b)
{
    struct bench_run *run = b->run;
    struct alloc_totals now;

    if (!run->timer_on)
        return;
    run->elapsed_ns += clock_ns(CLOCK_MONOTONIC) - run->started_ns;
    run->elapsed_cpu_ns += clock_ns(CLOCK_PROCESS_CPUTIME_ID) - run->started_cpu_ns;
    alloc_totals(&now);
    run->allocations += now.allocations - run->started_allocs.allocations;
    run->bytes += now.bytes - run->started_allocs.bytes;
    run->timer_on = 0;
}

/* Forgets the time and allocations measured so far (set-up cost), keeping
 * the timer running if it was, as b.ResetTimer. */
void bench_reset_timer(struct bench *b)
{
    struct bench_run *run = b->run;

    run->elapsed_ns = run->elapsed_cpu_ns = 0;
    run->allocations = run->bytes = 0;
    if (run->timer_on) {
        run->timer_on = 0;
        bench_start_timer(b);
    }
}

/* ============================ Parallel runs ============================== */

/* The worker threads, started once by the first parallel benchmark (with
 * the timer stopped) and reused by every run after it, so that neither
 * thread creation nor the workers' memory is ever measured. */
struct bench_pool {
    int workers;
    struct bench_parallel *parallel;   /* one per worker, on its own lines */
    pthread_t *threads;
    pid_t *tids;                       /* their kernel thread ids */
    sem_t *go;                         /* one per worker: run the job */
    sem_t done;                        /* posted once per finished worker */
    int quit;
    /* The job, written by the main thread before it posts `go`. */
    void (*body)(struct bench_parallel *p);
    long n, grain;
    /* The one field every worker writes, on a cache line of its own. */
    _Alignas(64) atomic_long next;     /* the first iteration nobody claimed */
};

static struct bench_pool *worker_pool;
static int cpus;                       /* the "-2": CPUs in our affinity mask */

/* Returns the number of CPUs this process may run on: its affinity mask,
 * which `taskset -c 0` narrows, or the online CPUs if that is unknown. */
static int cpu_count(void)
{
    cpu_set_t mask;
    long online = sysconf(_SC_NPROCESSORS_ONLN);

    if (sched_getaffinity(0, sizeof mask, &mask) == 0 && CPU_COUNT(&mask) > 0)
        return CPU_COUNT(&mask);
    return online > 0 ? (int)online : 1;
}

/* Waits on semaphore, retrying when a signal interrupts the wait. */
static void wait_for(sem_t *semaphore)
{
    while (sem_wait(semaphore) != 0 && errno == EINTR)
        ;
}

/* Thread entry of one worker: says who it is, then runs each job it is
 * given until told to quit. Returns NULL. */
static void *worker_main(void *argument)
{
    struct bench_parallel *p = argument;
    struct bench_pool *pool = p->pool;
    int index = (int)(p - pool->parallel);

    pool->tids[index] = gettid();
    sem_post(&pool->done);
    for (;;) {
        wait_for(&pool->go[index]);
        if (pool->quit)
            return NULL;
        pool->body(p);
        sem_post(&pool->done);
    }
}

/* Starts the pool's threads and waits until each has said who it is.
 * Exits the program if it cannot: a benchmark with fewer workers than it
 * claims would print wrong numbers. */
static void start_pool(void)
{
    int workers = cpus;
    struct bench_pool *pool = aligned_alloc(64, sizeof *pool);

    if (pool == NULL)
        goto out_of_memory;
    memset(pool, 0, sizeof *pool);
    pool->workers = workers;
    pool->parallel = aligned_alloc(64, (size_t)workers * sizeof *pool->parallel);
    pool->threads = calloc((size_t)workers, sizeof *pool->threads);
    pool->tids = calloc((size_t)workers, sizeof *pool->tids);
    pool->go = calloc((size_t)workers, sizeof *pool->go);
    if (pool->parallel == NULL || pool->threads == NULL || pool->tids == NULL || pool->go == NULL)
        goto out_of_memory;
    sem_init(&pool->done, 0, 0);
    for (int i = 0; i < workers; i++) {
        pool->parallel[i] = (struct bench_parallel){ .pool = pool };
        sem_init(&pool->go[i], 0, 0);
        if (pthread_create(&pool->threads[i], NULL, worker_main, &pool->parallel[i]) != 0) {
            fprintf(stderr, "bench: cannot start worker thread %d of %d\n", i + 1, workers);
            exit(1);
        }
    }
    for (int i = 0; i < workers; i++)
        wait_for(&pool->done);
    worker_pool = pool;
    return;

out_of_memory:
    fprintf(stderr, "bench: out of memory for %d worker threads\n", workers);
    exit(1);
}

/* Stops and frees the pool, if a parallel benchmark started one. */
static void stop_pool(void)
{
    struct bench_pool *pool = worker_pool;

    if (pool == NULL)
        return;
    pool->quit = 1;
    for (int i = 0; i < pool->workers; i++)
        sem_post(&pool->go[i]);
    for (int i = 0; i < pool->workers; i++) {
        pthread_join(pool->threads[i], NULL);
        sem_destroy(&pool->go[i]);
    }
    sem_destroy(&pool->done);
    free(pool->parallel);
    free(pool->threads);
    free(pool->tids);
    free(pool->go);
    free(pool);
    worker_pool = NULL;
}

/* Returns how long the pool's workers have waited for a CPU in all. */
static long long workers_cpu_wait_ns(const struct bench_pool *pool)
{
    long long waited = 0;

    for (int i = 0; i < pool->workers; i++)
        waited += cpu_wait_ns(pool->tids[i]);
    return waited;
}

/* Claims the next batch of iterations for worker p, the slow path of
 * bench_next(). Returns 1 when p has one to run now, 0 when all b->n are
 * claimed. Batches keep the shared counter off the hot path. */
int bench_claim(struct bench_parallel *p)
{
    struct bench_pool *pool = p->pool;
    long first = atomic_fetch_add_explicit(&pool->next, pool->grain, memory_order_relaxed);

    if (first >= pool->n)
        return 0;
    p->left = (first + pool->grain <= pool->n ? pool->grain : pool->n - first) - 1;
    return 1;
}

/* Runs body on every worker until they have shared out b->n iterations,
 * like Go's b.RunParallel(). In the warm-up run each worker does exactly
 * one, so every thread's lazy set-up (a first match data, say) is done
 * before anything is measured. How long the workers waited for a CPU is
 * read with the timer stopped, from the moment they are told to go; the
 * timer is left running or stopped, as the caller had it. */
void bench_run_parallel(struct bench *b, void (*body)(struct bench_parallel *p))
{
    struct bench_run *run = b->run;
    struct bench_pool *pool;
    long grain;
    long long waited;
    int timing = run->timer_on;   /* a caller may have stopped the timer itself */

    bench_stop_timer(b);
    if (worker_pool == NULL)
        start_pool();
    pool = worker_pool;
    grain = b->n / ((long)pool->workers * 100);
    pool->body = body;
    pool->n = b->n;
    pool->grain = grain < 1 ? 1 : grain > 1000 ? 1000 : grain;
    atomic_store_explicit(&pool->next, run->warm_up ? b->n : 0, memory_order_relaxed);
    for (int i = 0; i < pool->workers; i++)
        pool->parallel[i].left = run->warm_up ? 1 : 0;
    waited = workers_cpu_wait_ns(pool);
    if (timing)
        bench_start_timer(b);

    for (int i = 0; i < pool->workers; i++)
        sem_post(&pool->go[i]);
    for (int i = 0; i < pool->workers; i++)
        wait_for(&pool->done);

    bench_stop_timer(b);
    run->threads = pool->workers;
    run->cpu_wait_ns += workers_cpu_wait_ns(pool) - waited;
    if (timing)
        bench_start_timer(b);
}

/* ============================ Settings =================================== */

struct settings {
    long long benchtime_ns;      /* target run time, or 0 ... */
    long fixed_iterations;       /* ... run exactly this many ("100x") */
    int count;
    const char *json_path;
    long allocs_max;             /* BENCH_ALLOCS_MAX, or -1 for no limit */
    int has_filter;
    regex_t filter;
};

/* Parses BENCHTIME ("1s", "0.5s", "250ms", "100x"). Returns 0, or -1. */
static int parse_benchtime(const char *text, struct settings *settings)
{
    static const struct { const char *suffix; double ns; } units[] = {
        { "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 },
    };
    char *end;
    double value = strtod(text, &end);

    if (end == text || !(value > 0))
        return -1;
    if (strcmp(end, "x") == 0) {
        if (value < 1 || value > MAX_ITERATIONS)
            return -1;
        settings->fixed_iterations = (long)value;
        return 0;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        /* Up to a day: anything longer is a typo, and would overflow. */
        if (strcmp(end, units[i].suffix) == 0 && value * units[i].ns <= 86400e9) {
            settings->benchtime_ns = (long long)(value * units[i].ns);
            return 0;
        }
    }
    return -1;
}

/* Reads the environment into settings. Returns 0, or -1 after saying why. */
static int read_settings(struct settings *settings)
{
    const char *benchtime = getenv("BENCHTIME");
    const char *count = getenv("COUNT");
    const char *filter = getenv("BENCH");

    memset(settings, 0, sizeof *settings);
    settings->benchtime_ns = 1000000000LL;
    settings->count = 1;
    settings->json_path = getenv("BENCH_JSON");
    settings->allocs_max = getenv("BENCH_ALLOCS_MAX") ? atol(getenv("BENCH_ALLOCS_MAX")) : -1;
    if (benchtime && *benchtime && parse_benchtime(benchtime, settings) != 0) {
        fprintf(stderr, "bench: BENCHTIME=%s: want a duration like 1s or 200ms, or a count like 100x\n",
                benchtime);
        return -1;
    }
    if (count && *count) {
        char *end;
        long value = strtol(count, &end, 10);

        if (*end != '\0' || value < 1 || value > 1000) {
            fprintf(stderr, "bench: COUNT=%s: want a whole number from 1 to 1000\n", count);
            return -1;
        }
        settings->count = (int)value;
    }
    if (filter && *filter) {
        if (regcomp(&settings->filter, filter, REG_EXTENDED | REG_NOSUB) != 0) {
            fprintf(stderr, "bench: BENCH=%s is not a valid regular expression\n", filter);
            return -1;
        }
        settings->has_filter = 1;
    }
    return 0;
}

/* ============================ Running ==================================== */

struct result {
    char name[96];
    long iterations;
    double ns_per_op, cpu_ns_per_op;
    int counts_allocs;
    unsigned long long bytes_per_op, allocs_per_op;
    int repetition;
    int threads;              /* 1, or the workers of a parallel run */
    double cpus_busy;         /* CPU time over wall time */
    double cpu_wait_share;    /* of the threads' time, spent waiting for a CPU */
    double steal_share;       /* of the machine's CPU time, taken by the hypervisor */
};

/* Runs benchmark once with n iterations into b->run. measured says this
 * is the run BENCHTIME=Nx reports, which outside tools get told about. */
static void run_n(const struct benchmark *benchmark, struct bench *b, long n,
                  int warm_up, int measured)
{
    struct bench_run *run = b->run;
    long long waited, stolen;

    memset(run, 0, sizeof *run);
    run->warm_up = warm_up;
    b->n = n;
    waited = cpu_wait_ns(0);
    stolen = steal_ns();
    if (measured)
        mark_measured_run(1, benchmark->name);
    bench_start_timer(b);
    benchmark->function(b);
    bench_stop_timer(b);
    if (measured)
        mark_measured_run(0, benchmark->name);
    run->steal_ns = steal_ns() - stolen;
    if (run->threads == 0) {   /* not parallel: the main thread did the work */
        run->threads = 1;
        run->cpu_wait_ns = cpu_wait_ns(0) - waited;
    }
}

/* Returns the next n to try, Go's rule: aim for the target time from the
 * last run's speed, overshoot by a fifth, grow at most a hundredfold. */
static long next_n(long last, long long elapsed_ns, long long target_ns)
{
    /* In floating point: target_ns * last overflows 64 bits for long
     * BENCHTIMEs of fast benchmarks. */
    double n = (double)target_ns * (double)last / (double)(elapsed_ns > 0 ? elapsed_ns : 1);

    n += n / 5;
    if (n > 100.0 * (double)last) n = 100.0 * (double)last;
    if (n < (double)last + 1) n = (double)last + 1;
    if (n > MAX_ITERATIONS) n = MAX_ITERATIONS;
    return (long)n;
}

/* Runs benchmark to its target and fills result. Like Go, it always runs
 * once first, untimed in effect: that warms the caches and lets one-time
 * set-up (a first match's frame vector, the parallel workers) happen
 * outside the run that is reported. */
static void measure(const struct benchmark *benchmark, const struct settings *settings,
                    struct result *result)
{
    struct bench_run run;
    struct bench b = { .run = &run };
    struct alloc_totals unused;

    run_n(benchmark, &b, 1, 1, 0);
    if (settings->fixed_iterations > 0) {
        run_n(benchmark, &b, settings->fixed_iterations, 0, 1);
    } else {
        do
            run_n(benchmark, &b, next_n(b.n, run.elapsed_ns, settings->benchtime_ns), 0, 0);
        while (run.elapsed_ns < settings->benchtime_ns && b.n < MAX_ITERATIONS);
    }
    result->iterations = b.n;
    result->ns_per_op = (double)run.elapsed_ns / (double)b.n;
    result->cpu_ns_per_op = (double)run.elapsed_cpu_ns / (double)b.n;
    result->counts_allocs = alloc_totals(&unused);
    result->bytes_per_op = run.bytes / (unsigned long long)b.n;
    result->allocs_per_op = run.allocations / (unsigned long long)b.n;
    result->threads = run.threads;
    result->cpus_busy = run.elapsed_ns > 0 ? (double)run.elapsed_cpu_ns / (double)run.elapsed_ns : 0;
    result->cpu_wait_share = run.elapsed_ns > 0
        ? (double)run.cpu_wait_ns / ((double)run.elapsed_ns * run.threads) : 0;
    result->steal_share = run.elapsed_ns > 0
        ? (double)run.steal_ns / ((double)run.elapsed_ns * (double)sysconf(_SC_NPROCESSORS_ONLN)) : 0;
}

/* Prints x the way Go's prettyPrint does: fewer decimals for big numbers. */
static void print_ns_per_op(double x)
{
    if (x == 0 || x >= 999.95)
        printf("%7.0f ns/op", x);
    else if (x >= 99.995)
        printf("%9.1f ns/op", x);
    else if (x >= 9.9995)
        printf("%10.2f ns/op", x);
    else
        printf("%11.3f ns/op", x);
}

/* Returns 1 when, in a run of 10 ms or more, result's threads spent more
 * than CPU_WAIT_WARNING of it waiting for a CPU, or the hypervisor held
 * back that much of the machine's CPUs (steal): that run measured the
 * machine, not the code. benchtool.py reads this verdict from the JSON
 * ("cpu_waited"), so that the rule is written in one place. */
static int waited_for_cpu(const struct result *result)
{
    return (result->cpu_wait_share > CPU_WAIT_WARNING || result->steal_share > CPU_WAIT_WARNING) &&
           result->ns_per_op * (double)result->iterations >= 1e7;
}

/* Prints one result line, e.g. "BenchmarkHi-2  1000000  1451 ns/op ...".
 * A parallel run adds how many CPUs were busy on average, as Go's
 * b.ReportMetric would; a run whose threads waited for a CPU says so on
 * the next line, since its ns/op measured the other process too. */
static void print_result(const struct result *result, int name_width)
{
    printf("%-*s %10ld ", name_width, result->name, result->iterations);
    print_ns_per_op(result->ns_per_op);
    /* Widths that keep the longest name's line within 100 columns, with
     * up to 99 CPUs in its "-N". */
    if (result->counts_allocs)
        printf(" %6llu B/op %5llu allocs/op", result->bytes_per_op, result->allocs_per_op);
    if (result->threads > 1)
        printf(" %5.2f cpus", result->cpus_busy);
    printf("\n");
    if (waited_for_cpu(result) && result->cpu_wait_share > CPU_WAIT_WARNING)
        printf("--- BENCH: %s: its %d thread%s waited for a CPU %.0f%% of the time: another\n"
               "    process was running, so this ns/op is not this code's alone\n",
               result->name, result->threads, result->threads == 1 ? "" : "s",
               100 * result->cpu_wait_share);
    if (waited_for_cpu(result) && result->steal_share > CPU_WAIT_WARNING)
        printf("--- BENCH: %s: the hypervisor held back %.0f%% of this machine's CPU time\n"
               "    (steal): this ns/op is not this code's alone\n",
               result->name, 100 * result->steal_share);
    fflush(stdout);
}

/* Returns 1 when result breaks the BENCH_ALLOCS_MAX limit, after saying
 * so the way a failing Go test does. A limit of 0 also forbids any bytes. */
static int over_allocation_limit(const struct result *result, long limit)
{
    if (limit < 0)
        return 0;
    if (!result->counts_allocs) {
        printf("--- FAIL: %s: this build does not count allocations\n", result->name);
        return 1;
    }
    if (result->allocs_per_op > (unsigned long long)limit ||
        (limit == 0 && result->bytes_per_op > 0)) {
        printf("--- FAIL: %s: %llu allocs/op and %llu B/op, want at most %ld allocs/op%s\n",
               result->name, result->allocs_per_op, result->bytes_per_op, limit,
               limit == 0 ? " and 0 B/op" : "");
        return 1;
    }
    return 0;
}

/* ============================ Reporting ================================== */

/* Returns the CPU's model name from /proc/cpuinfo, or "unknown". An x86
 * CPU names itself ("model name"); an arm64 one gives only numbers, so
 * there it is "arm64, implementer 0x41, part 0xd0c" (0x41 is Arm Ltd,
 * 0x61 Apple; the part numbers the core design). */
static const char *cpu_model(void)
{
    static char model[128] = "unknown";
    char line[256], implementer[32] = "", part[32] = "";
    FILE *file = fopen("/proc/cpuinfo", "r");

    if (file == NULL)
        return model;
    while (fgets(line, sizeof line, file)) {
        char *colon = strchr(line, ':');

        if (colon == NULL)
            continue;
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "model name", 10) == 0) {
            snprintf(model, sizeof model, "%s", colon + 2);
            break;
        }
        if (strncmp(line, "CPU implementer", 15) == 0 && implementer[0] == '\0')
            snprintf(implementer, sizeof implementer, "%s", colon + 2);
        if (strncmp(line, "CPU part", 8) == 0 && part[0] == '\0')
            snprintf(part, sizeof part, "%s", colon + 2);
    }
    if (strcmp(model, "unknown") == 0 && implementer[0] != '\0')
        snprintf(model, sizeof model, "arm64, implementer %s, part %s", implementer, part);
    fclose(file);
    return model;
}

/* Writes one JSON object for Google Benchmark's format. */
static void write_json_entry(FILE *file, const struct result *result, int repetitions,
                             const char *aggregate, double ns, double cpu_ns, int comma)
{
    fprintf(file, "    {\"name\": \"%s%s%s\", \"run_name\": \"%s\", \"run_type\": \"%s\", ",
            result->name, aggregate ? "_" : "", aggregate ? aggregate : "", result->name,
            aggregate ? "aggregate" : "iteration");
    if (aggregate)
        fprintf(file, "\"aggregate_name\": \"%s\", ", aggregate);
    fprintf(file, "\"repetitions\": %d, \"repetition_index\": %d, \"threads\": %d, "
            "\"iterations\": %ld, \"real_time\": %.3f, \"cpu_time\": %.3f, "
            "\"time_unit\": \"ns\", \"bytes_per_op\": %llu, \"allocs_per_op\": %llu, "
            "\"cpus_busy\": %.3f, \"cpu_wait_share\": %.3f, \"steal_share\": %.3f, "
            "\"cpu_waited\": %s}%s\n",
            repetitions, aggregate ? 0 : result->repetition, result->threads, result->iterations,
            ns, cpu_ns, result->bytes_per_op, result->allocs_per_op, result->cpus_busy,
            result->cpu_wait_share, result->steal_share, waited_for_cpu(result) ? "true" : "false",
            comma ? "," : "");
}

/* qsort comparison for doubles. */
static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Returns the median of the ns/op (or cpu ns/op) of results[0..count). */
static double median(const struct result *results, int count, int cpu)
{
    double values[MAX_RESULTS];

    for (int i = 0; i < count; i++)
        values[i] = cpu ? results[i].cpu_ns_per_op : results[i].ns_per_op;
    qsort(values, (size_t)count, sizeof values[0], compare_doubles);
    return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

/* Writes every result, plus a median per benchmark when COUNT > 1, as
 * Google Benchmark JSON. Returns 0, or -1 if the file cannot be written. */
static int write_json(const char *path, const struct result *results, int total, int count)
{
    FILE *file = fopen(path, "w");

    if (file == NULL)
        return -1;
    fprintf(file, "{\n  \"context\": {\"executable\": \"bench\", \"num_cpus\": %d, "
            "\"library_build_type\": \"release\"},\n  \"benchmarks\": [\n", cpus);
    for (int i = 0; i < total; i += count) {
        for (int r = 0; r < count; r++)
            write_json_entry(file, &results[i + r], count, NULL, results[i + r].ns_per_op,
                             results[i + r].cpu_ns_per_op, count > 1 || i + count < total);
        if (count > 1)
            write_json_entry(file, &results[i], count, "median", median(&results[i], count, 0),
                             median(&results[i], count, 1), i + count < total);
    }
    fprintf(file, "  ]\n}\n");
    return fclose(file) == 0 ? 0 : -1;
}

/* Returns 1 when BENCH (if set) matches benchmark's name, as go test's
 * -bench pattern does, else 0. */
static int is_selected(const struct settings *settings, const struct benchmark *benchmark)
{
    return !settings->has_filter || regexec(&settings->filter, benchmark->name, 0, NULL, 0) == 0;
}

/* Runs the benchmarks of list (count entries) that BENCH selects, COUNT
 * times each, prints Go's lines and writes the JSON. Returns the exit
 * status for main(): 0, or 1 on bad settings or a broken allocation limit. */
int bench_main(const struct benchmark *list, int count, const char *package)
{
    static struct result results[MAX_RESULTS];
    struct settings settings;
    long long started = clock_ns(CLOCK_MONOTONIC);
    int total = 0, selected = 0, name_width = 0, failed = 0;

    cpus = cpu_count();
    if (read_settings(&settings) != 0)
        return 1;
    /* BENCH_LIST=1 names the benchmarks BENCH selects and runs none, like
     * go test -list: what make bench-smoke counts the result lines by. */
    if (getenv("BENCH_LIST") != NULL) {
        for (int i = 0; i < count; i++)
            if (is_selected(&settings, &list[i]))
                printf("%s\n", list[i].name);
        return 0;
    }
    for (int i = 0; i < count; i++) {
        int width = (int)strlen(list[i].name) + 3;   /* "-N" and a space */

        name_width = width > name_width ? width : name_width;
        selected += is_selected(&settings, &list[i]);
    }
    /* Every result is kept for the JSON and the medians: refuse up front
     * rather than drop some of them. */
    if ((long)selected * settings.count > MAX_RESULTS) {
        fprintf(stderr, "bench: COUNT=%d times %d benchmarks is more than %d results;"
                " lower COUNT or narrow BENCH\n", settings.count, selected, MAX_RESULTS);
        return 1;
    }
    printf("goos: linux\ncpu: %s\npkg: %s\n", cpu_model(), package);
    for (int i = 0; i < count; i++) {
        if (!is_selected(&settings, &list[i]))
            continue;
        for (int r = 0; r < settings.count; r++) {
            struct result *result = &results[total++];

            snprintf(result->name, sizeof result->name, "%s-%d", list[i].name, cpus);
            result->repetition = r;
            measure(&list[i], &settings, result);
            print_result(result, name_width);
            failed |= over_allocation_limit(result, settings.allocs_max);
        }
    }
    stop_pool();
    if (total == 0) {
        fprintf(stderr, "bench: no benchmark matches BENCH=%s\n", getenv("BENCH"));
        return 1;
    }
    if (settings.json_path && write_json(settings.json_path, results, total, settings.count) != 0) {
        fprintf(stderr, "bench: cannot write %s\n", settings.json_path);
        return 1;
    }
    printf("%s\n%s  \t%s\t%.3fs\n", failed ? "FAIL" : "PASS", failed ? "FAIL" : "ok",
           package, (double)(clock_ns(CLOCK_MONOTONIC) - started) / 1e9);
    return failed;
}
