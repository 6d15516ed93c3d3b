/*
 * bench.c - see bench.h. The growth rule and the output follow Go's
 * testing package, so numbers read the same way in both languages.
 */
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc_count.h"
#include "bench.h"

#define MAX_ITERATIONS 1000000000L
#define MAX_RESULTS 256

/* ============================ Timing ===================================== */

struct bench_run {
    int timer_on;
    long long started_ns, started_cpu_ns;
    struct alloc_totals started_allocs;
    long long elapsed_ns, elapsed_cpu_ns;      /* while the timer ran */
    unsigned long long allocations, bytes;     /* while the timer ran */
};

/* Returns the time of clock in nanoseconds. */
static long long clock_ns(clockid_t clock)
{
    struct timespec t;

    clock_gettime(clock, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* See bench.h. Starts counting time and allocations; a no-op when the
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

/* See bench.h. Adds what passed since bench_start_timer() to the run. */
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

/* See bench.h. Forgets what was measured so far (set-up cost), keeping
 * the timer running if it was. */
void bench_reset_timer(struct bench *b)
{
    struct bench_run *run = b->run;
    int was_on = run->timer_on;

    memset(run, 0, sizeof *run);
    if (was_on)
        bench_start_timer(b);
}

/* bench_keep() stores here; a volatile store cannot be optimized away. */
const void *volatile bench_sink;

/* See bench.h. Keeps value "used", so the compiler cannot drop the work
 * that produced it. */
void bench_keep(const void *value)
{
    bench_sink = value;
}

/* ============================ Parallel runs ============================== */

/* Each worker writes its own `left` on every iteration. Workers sit side
 * by side in one array, so without a cache line each, two CPUs would keep
 * stealing one line from each other (false sharing) and the harness itself
 * would stop parallel runs from scaling. */
#define BENCH_CACHE_LINE 64

struct bench_parallel {
    _Alignas(BENCH_CACHE_LINE) atomic_long *next;  /* the next iteration nobody has claimed yet */
    long n;                /* iterations in all */
    long grain;            /* how many a worker claims at once */
    long left;             /* claimed by this worker, not yet run */
    pthread_t thread;
    void (*body)(struct bench_parallel *p);
};

/* See bench.h. Returns 1 while this worker has an iteration to run, 0
 * when all b->n are claimed, like Go's pb.Next(). */
int bench_next(struct bench_parallel *p)
{
    long first;

    if (p->left > 0) {
        p->left--;
        return 1;
    }
    /* Claiming in batches keeps the shared counter off the hot path. */
    first = atomic_fetch_add_explicit(p->next, p->grain, memory_order_relaxed);
    if (first >= p->n)
        return 0;
    p->left = (first + p->grain <= p->n ? p->grain : p->n - first) - 1;
    return 1;
}

/* Thread entry for one parallel worker. */
static void *parallel_worker(void *argument)
{
    struct bench_parallel *p = argument;

    p->body(p);
    return NULL;
}

/* Returns the number of online CPUs: the "-2" in BenchmarkHi-2. */
static int cpu_count(void)
{
    long count = sysconf(_SC_NPROCESSORS_ONLN);

    return count > 0 ? (int)count : 1;
}

/* See bench.h. Runs body on one thread per CPU until they have shared
 * out b->n iterations between them, like Go's b.RunParallel(). */
void bench_run_parallel(struct bench *b, void (*body)(struct bench_parallel *p))
{
    int workers = cpu_count();
    /* sizeof *pool is a whole number of cache lines (see _Alignas). */
    struct bench_parallel *pool = aligned_alloc(BENCH_CACHE_LINE, (size_t)workers * sizeof *pool);
    atomic_long next = 0;
    long grain = b->n / ((long)workers * 100);

    if (pool == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    grain = grain < 1 ? 1 : grain > 1000 ? 1000 : grain;
    for (int i = 0; i < workers; i++) {
        pool[i] = (struct bench_parallel){
            .next = &next, .n = b->n, .grain = grain, .body = body,
        };
        if (pthread_create(&pool[i].thread, NULL, parallel_worker, &pool[i]) != 0) {
            fprintf(stderr, "bench: cannot start worker thread %d\n", i);
            exit(1);
        }
    }
    for (int i = 0; i < workers; i++)
        pthread_join(pool[i].thread, NULL);
    free(pool);
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

    if (end == text || value <= 0)
        return -1;
    if (strcmp(end, "x") == 0) {
        settings->fixed_iterations = (long)value;
        return value >= 1 && value <= MAX_ITERATIONS ? 0 : -1;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) == 0) {
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
};

/* Runs function once with n iterations into run. */
static void run_n(const struct benchmark *benchmark, struct bench *b, long n)
{
    b->n = n;
    memset(b->run, 0, sizeof *b->run);
    bench_start_timer(b);
    benchmark->function(b);
    bench_stop_timer(b);
}

/* Returns the next n to try, Go's rule: aim for the target time from the
 * last run's speed, overshoot by a fifth, grow at most a hundredfold. */
static long next_n(long last, long long elapsed_ns, long long target_ns)
{
    long long n = target_ns * (long long)last / (elapsed_ns > 0 ? elapsed_ns : 1);

    n += n / 5;
    if (n > 100LL * last) n = 100LL * last;
    if (n < last + 1) n = last + 1;
    if (n > MAX_ITERATIONS) n = MAX_ITERATIONS;
    return (long)n;
}

/* Runs benchmark to its target and fills result. */
static void measure(const struct benchmark *benchmark, const struct settings *settings,
                    struct result *result)
{
    struct bench_run run;
    struct bench b = { .run = &run };
    struct alloc_totals unused;

    /* Like Go, always run once first: it warms caches and lets lazy
     * one-time set-up (a first match's frame vector, say) happen outside
     * the run that is reported. */
    run_n(benchmark, &b, 1);
    if (settings->fixed_iterations > 0) {
        run_n(benchmark, &b, settings->fixed_iterations);
    } else {
        while (run.elapsed_ns < settings->benchtime_ns && b.n < MAX_ITERATIONS)
            run_n(benchmark, &b, next_n(b.n, run.elapsed_ns, settings->benchtime_ns));
    }
    result->iterations = b.n;
    result->ns_per_op = (double)run.elapsed_ns / (double)b.n;
    result->cpu_ns_per_op = (double)run.elapsed_cpu_ns / (double)b.n;
    result->counts_allocs = alloc_totals(&unused);
    result->bytes_per_op = run.bytes / (unsigned long long)b.n;
    result->allocs_per_op = run.allocations / (unsigned long long)b.n;
}

/* Prints x the way Go's prettyPrint does: fewer decimals for big numbers. */
static void print_ns_per_op(double x)
{
    if (x == 0 || x >= 999.95)
        printf("%10.0f ns/op", x);
    else if (x >= 99.995)
        printf("%12.1f ns/op", x);
    else if (x >= 9.9995)
        printf("%13.2f ns/op", x);
    else
        printf("%14.3f ns/op", x);
}

/* Prints one result line, e.g. "BenchmarkHi-2  1000000  1451 ns/op ...". */
static void print_result(const struct result *result, int name_width)
{
    printf("%-*s %10ld ", name_width, result->name, result->iterations);
    print_ns_per_op(result->ns_per_op);
    if (result->counts_allocs)
        printf(" %8llu B/op %8llu allocs/op", result->bytes_per_op, result->allocs_per_op);
    printf("\n");
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

/* Returns the CPU's model name from /proc/cpuinfo, or "unknown". */
static const char *cpu_model(void)
{
    static char model[128] = "unknown";
    char line[256];
    FILE *file = fopen("/proc/cpuinfo", "r");

    if (file == NULL)
        return model;
    while (fgets(line, sizeof line, file)) {
        char *colon = strchr(line, ':');

        if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
            snprintf(model, sizeof model, "%s", colon + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    }
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
    fprintf(file, "\"repetitions\": %d, \"repetition_index\": %d, \"threads\": 1, "
            "\"iterations\": %ld, \"real_time\": %.3f, \"cpu_time\": %.3f, "
            "\"time_unit\": \"ns\", \"bytes_per_op\": %llu, \"allocs_per_op\": %llu}%s\n",
            repetitions, aggregate ? 0 : result->repetition, result->iterations, ns, cpu_ns,
            result->bytes_per_op, result->allocs_per_op, comma ? "," : "");
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
            "\"library_build_type\": \"release\"},\n  \"benchmarks\": [\n", cpu_count());
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

/* See bench.h: runs the selected benchmarks COUNT times each, prints Go's
 * lines, writes the JSON. Returns the process's exit status. */
int bench_main(const struct benchmark *list, int count, const char *package)
{
    static struct result results[MAX_RESULTS];
    struct settings settings;
    long long started = clock_ns(CLOCK_MONOTONIC);
    int total = 0, selected = 0, name_width = 0, cpus = cpu_count(), failed = 0;

    if (read_settings(&settings) != 0)
        return 1;
    for (int i = 0; i < count; i++) {
        int width = (int)strlen(list[i].name) + 4;

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
