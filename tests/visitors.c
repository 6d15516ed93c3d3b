/*
 * visitors.c - see visitors.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hi.h"
#include "http_client.h"
#include "recorder.h"
#include "visitors.h"

/* ============================ Pages ====================================== */

/* The exact 200 body the contract requires for color and visitor. Returns
 * its length, writing at most size bytes into page. */
int expected_page(char *page, size_t size, const char *color, unsigned long visitor)
{
    return snprintf(page, size,
                    "<h1 style='color: %s'>Welcome!</h1>You are visitor number %lu!",
                    color, visitor);
}

/* Returns the visitor number in a welcome page, or 0 when body (length
 * bytes) is not exactly a welcome page for color. */
unsigned long visitor_in_page(const char *body, size_t length, const char *color)
{
    static const char marker[] = "You are visitor number ";
    char expected[256];
    const char *at = strstr(body, marker);
    unsigned long visitor;

    if (at == NULL)
        return 0;
    visitor = strtoul(at + sizeof marker - 1, NULL, 10);
    /* Rebuild the page from the number and compare every byte. */
    if (visitor == 0 ||
        (size_t)expected_page(expected, sizeof expected, color, visitor) != length ||
        memcmp(expected, body, length) != 0)
        return 0;
    return visitor;
}

/* ============================ Numbering ================================== */

/* qsort's comparison for unsigned longs. */
static int compare_numbers(const void *a, const void *b)
{
    unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

    return (x > y) - (x < y);
}

/* Summarizes count numbers (0 marks a bad response) into result. */
void check_numbering(const unsigned long *numbers, size_t count, struct numbering *result)
{
    unsigned long *sorted = malloc(count * sizeof *sorted);
    size_t valid = 0;

    memset(result, 0, sizeof *result);
    result->count = count;
    if (sorted == NULL) {
        result->invalid = count;
        return;
    }
    for (size_t i = 0; i < count; i++) {
        if (numbers[i] == 0)
            result->invalid++;
        else
            sorted[valid++] = numbers[i];
    }
    qsort(sorted, valid, sizeof *sorted, compare_numbers);
    if (valid > 0) {
        result->lowest = sorted[0];
        result->highest = sorted[valid - 1];
    }
    for (size_t i = 1; i < valid; i++) {
        if (sorted[i] == sorted[i - 1])
            result->duplicates++;
        else
            result->missing += sorted[i] - sorted[i - 1] - 1;
    }
    free(sorted);
}

/* Returns 1 when result shows the numbers first, first + 1, ... each
 * exactly once, every response a welcome page; 0 otherwise. That is what
 * a race-free counter hands a batch of calls that nobody else shares. */
int numbering_exact(const struct numbering *result, unsigned long first)
{
    return result->invalid == 0 && result->duplicates == 0 && result->missing == 0 &&
           result->lowest == first && result->highest == first + result->count - 1;
}

/* Writes result as one line ("visitors 1..2000, 0 duplicates, 0 missing,
 * 0 bad responses") into text, at most size bytes, for a report or a
 * failure message. Returns text. */
const char *describe_numbering(const struct numbering *result, char *text, size_t size)
{
    snprintf(text, size, "visitors %lu..%lu, %zu duplicate%s, %zu missing, %zu bad response%s",
             result->lowest, result->highest, result->duplicates,
             result->duplicates == 1 ? "" : "s", result->missing, result->invalid,
             result->invalid == 1 ? "" : "s");
    return text;
}

/* ============================ Parallel calls ============================= */

/* The starting gun: the workers wait until every one of them exists, so
 * that they start at the same moment; if one could not be created, the
 * others are told to give up instead. */
struct start {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int go;                     /* 0 wait, 1 run, -1 give up */
};

/* Returns 1 once the workers may run, 0 if they must give up. */
static int wait_for_start(struct start *start)
{
    int go;

    pthread_mutex_lock(&start->lock);
    while (start->go == 0)
        pthread_cond_wait(&start->changed, &start->lock);
    go = start->go;
    pthread_mutex_unlock(&start->lock);
    return go > 0;
}

/* Releases the waiting workers: to run (go 1) or to give up (-1). */
static void fire(struct start *start, int go)
{
    pthread_mutex_lock(&start->lock);
    start->go = go;
    pthread_cond_broadcast(&start->changed);
    pthread_mutex_unlock(&start->lock);
}

struct worker {
    pthread_t thread;
    struct start *start;
    int port;                   /* live server port, or 0 for the handler */
    int requests;
    unsigned long *numbers;     /* this worker's slice */
    int failed;
};

/* Thread body for handle_in_parallel(). */
static void *handle_worker(void *argument)
{
    struct worker *worker = argument;
    struct recorder recorder;

    recorder_init(&recorder);
    if (!wait_for_start(worker->start))
        return NULL;
    for (int i = 0; i < worker->requests; i++) {
        recorder_reset(&recorder);
        hi_handle(&recorder.writer, "color=red");
        worker->numbers[i] = recorder.status == 200
            ? visitor_in_page(recorder.body, recorder.body_length, "red") : 0;
    }
    return NULL;
}

/* Thread body for fetch_in_parallel(): one keep-alive connection, made
 * once the workers start: a connection opened sooner, while the others
 * are still being created, would meet the server's 400 ms timeout for a
 * first request on a machine slow enough. */
static void *fetch_worker(void *argument)
{
    static const char request[] = "GET /hi?color=red HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    struct worker *worker = argument;
    struct http_response *response = malloc(sizeof *response);
    int fd = -1;

    worker->failed = !wait_for_start(worker->start) || response == NULL ||
                     (fd = http_connect(worker->port)) < 0;
    for (int i = 0; i < worker->requests && !worker->failed; i++) {
        if (http_send(fd, request, sizeof request - 1) != 0 ||
            http_read_response(fd, response) != 0) {
            worker->failed = 1;
            break;
        }
        worker->numbers[i] = response->status == 200
            ? visitor_in_page(response->body, response->body_length, "red") : 0;
    }
    if (fd >= 0)
        close(fd);
    free(response);
    return NULL;
}

/* Runs threads workers of body and waits for them. Returns 0, or -1 if a
 * thread could not start or a worker failed. */
static int run_workers(void *(*body)(void *), int port, int threads, int requests,
                       unsigned long *numbers)
{
    struct worker *workers = calloc((size_t)threads, sizeof *workers);
    struct start start = {
        .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER, .go = 0,
    };
    int started = 0, result = 0;

    if (workers == NULL)
        return -1;
    memset(numbers, 0, (size_t)threads * (size_t)requests * sizeof *numbers);
    for (; started < threads; started++) {
        struct worker *worker = &workers[started];

        worker->start = &start;
        worker->port = port;
        worker->requests = requests;
        worker->numbers = numbers + (size_t)started * (size_t)requests;
        if (pthread_create(&worker->thread, NULL, body, worker) != 0)
            break;
    }
    if (started < threads) {
        fprintf(stderr, "could not start thread %d of %d\n", started + 1, threads);
        result = -1;
    }
    fire(&start, started == threads ? 1 : -1);
    for (int i = 0; i < started; i++) {
        pthread_join(workers[i].thread, NULL);
        if (workers[i].failed)
            result = -1;
    }
    free(workers);
    return result;
}

/* Calls the linked stage's hi_handle() from threads threads at once,
 * requests times each, with color=red, through one recorder per thread.
 * Stores every visitor number (0 for a bad response) in numbers, which
 * holds threads * requests. Returns 0, or -1 if threads could not start. */
int handle_in_parallel(int threads, int requests, unsigned long *numbers)
{
    return run_workers(handle_worker, 0, threads, requests, numbers);
}

/* The same through a live server on port: clients keep-alive connections
 * at once, requests GETs each. Returns 0, or -1 if a connection failed. */
int fetch_in_parallel(int port, int clients, int requests, unsigned long *numbers)
{
    return run_workers(fetch_worker, port, clients, requests, numbers);
}
