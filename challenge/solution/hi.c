/*
 * The challenge, solved: the reference fix of challenge/hi.c. Below is
 * the challenge's own description, still true of the server; make
 * challenge solution shows what changed, and measures it.
 *
 * The challenge: stage 6's server, as it looks after a year in production.
 *
 * Since stage 6 it has grown what real servers grow: the echoed color is
 * HTML-escaped, whatever the validation lets through; the server keeps
 * statistics (pages served, requests rejected, bytes, the CPU time spent
 * on them) and prints them when it stops; and HI_DEBUG=1 in the
 * environment logs every request to stderr.
 *
 * It answers exactly as every stage does, and passes the same suite.
 * It is also slower than it should be, in more than one way. Find out
 * where with the workbook's tools, fix it in your copy (make challenge
 * puts one in work/challenge/hi.c), and let make challenge test measure
 * what is left. challenge/README.md tells the rules.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "hi.h"
#include "query.h"

/* ============================ Validation ================================= */

/* The pattern from the Go talk. Without PCRE2_UCP, \w is ASCII
 * [A-Za-z0-9_]. PCRE2_DOLLAR_ENDONLY matters: by default "$" also matches
 * before a final newline, and "red\n" would pass. */
#define COLOR_PATTERN "^\\w*$"
#define COLOR_PATTERN_OPTIONS PCRE2_DOLLAR_ENDONLY

/* Compiled once by hi_init(), then only read. */
static pcre2_code *color_pattern;

/* Set when pcre2 also compiled the pattern to machine code. */
static int jit_compiled;

/* Each thread's own match data. The key's destructor frees it when the
 * thread exits. */
static pthread_key_t thread_match_key;

/* The key's destructor: pthreads calls it with the thread's match data. */
static void free_thread_match(void *match)
{
    pcre2_match_data_free(match);
}

/* Returns the calling thread's match data, made on its first call, or
 * NULL when memory runs out. Only that first call allocates. */
static pcre2_match_data *thread_match(void)
{
    pcre2_match_data *match = pthread_getspecific(thread_match_key);

    if (match != NULL)
        return match;
    match = pcre2_match_data_create_from_pattern(color_pattern, NULL);
    if (match != NULL && pthread_setspecific(thread_match_key, match) != 0) {
        pcre2_match_data_free(match);
        match = NULL;
    }
    return match;
}

/* Returns what a pcre2 match result means here: 1 for a match, 0 for
 * none, -1 when pcre2 failed (out of memory, say), which is not a "no". */
static int match_result(int result)
{
    return result >= 0 ? 1 : result == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

/* Returns 1 when the length bytes at color match the pattern, 0 when they
 * do not, -1 when pcre2 fails (out of memory). No thread waits here.
 * pcre2_jit_match() goes straight to the machine code, skipping the
 * checks and dispatch that pcre2_match() does on every call. */
static int color_is_valid(const char *color, size_t length)
{
    pcre2_match_data *match = thread_match();

    if (match == NULL)
        return -1;
    if (jit_compiled)
        return match_result(pcre2_jit_match(color_pattern, (PCRE2_SPTR)color, length, 0, 0,
                                            match, NULL));
    return match_result(pcre2_match(color_pattern, (PCRE2_SPTR)color, length, 0, 0,
                                    match, NULL));
}

/* ============================ Visitor counter ============================ */

/* Shared by every worker thread; only ever touched atomically. */
static atomic_ulong visitor_count;

/* Returns this visitor's number: 1, 2, 3, ..., each exactly once.
 * atomic_fetch_add returns the value before the add, hence the + 1. */
static unsigned long next_visitor(void)
{
    return atomic_fetch_add(&visitor_count, 1) + 1;
}

/* ============================ Statistics ================================= */

/* What the server has done since it started, printed by hi_shutdown()
 * when HI_DEBUG is set. Each thread counts in a block of its own, in C11
 * thread storage: no request writes a cache line that another thread's
 * requests write too, as a shared atomic would (each add would first move
 * the line from the CPU that wrote it last). A thread's counts join the
 * totals once, when it exits: counts_key's destructor runs then, and
 * takes totals_lock, once per thread, never per request. */
struct counts {
    unsigned long pages;        /* answered 200 */
    unsigned long rejected;     /* answered 400 */
    unsigned long bytes;        /* body bytes of the pages */
};
static _Thread_local struct counts thread_counts;
static _Thread_local int thread_counts_kept;   /* counts_key holds them */
static struct counts totals;
static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t counts_key;

/* Adds a thread's counts (counts_key's value: its thread_counts) to the
 * totals. counts_key's destructor, which pthreads runs as the thread
 * exits, while its thread storage is still there. */
static void add_to_totals(void *thread_counts_of_exiting_thread)
{
    const struct counts *counts = thread_counts_of_exiting_thread;

    pthread_mutex_lock(&totals_lock);
    totals.pages += counts->pages;
    totals.rejected += counts->rejected;
    totals.bytes += counts->bytes;
    pthread_mutex_unlock(&totals_lock);
}

/* The process's CPU time when hi_init() ran, in nanoseconds. */
static unsigned long long started_cpu_ns;

/* Returns the CPU time the whole process has used, in nanoseconds. Read
 * twice in all, at the start and the end, rather than around every
 * request: CPU-time clocks are not in the vDSO, so each reading is a
 * system call. Divided by the requests, it is the whole process's CPU
 * per request, civetweb's threads included, not the handler's alone. */
static unsigned long long process_cpu_ns(void)
{
    struct timespec now;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return (unsigned long long)now.tv_sec * 1000000000u + (unsigned long long)now.tv_nsec;
}

/* Counts one answered request, in the calling thread's own counts: a
 * page of page_bytes bytes when status is 200, a rejection otherwise.
 * A thread's first count hands them to counts_key, whose destructor
 * runs only for a thread whose value is set. */
static void count_request(int status, size_t page_bytes)
{
    if (!thread_counts_kept)
        thread_counts_kept = pthread_setspecific(counts_key, &thread_counts) == 0;
    if (status == 200) {
        thread_counts.pages++;
        thread_counts.bytes += page_bytes;
    } else {
        thread_counts.rejected++;
    }
}

/* ============================ Debug log ================================== */

/* Returns 1 when HI_DEBUG is set to anything but "" or "0": then every
 * request is logged to stderr, and the statistics at the end. */
static int debug_enabled(void)
{
    const char *debug = getenv("HI_DEBUG");

    return debug != NULL && debug[0] != '\0' && strcmp(debug, "0") != 0;
}

/* What debug_enabled() said when hi_init() ran. The environment does not
 * change under a running server, and getenv() walks all of it each call. */
static int debug;

/* The longest query a log line shows; the rest is cut. */
#define LOG_QUERY_MAX 1024

/* Copies query (a C string) into line, which holds size bytes, for a log:
 * every byte that is not printable ASCII becomes '?', so that a hostile
 * query cannot put a newline or a terminal escape into the log. Cuts
 * what does not fit, and always ends line with a NUL. */
static void printable_copy(char *line, size_t size, const char *query)
{
    size_t used = 0;

    /* One pass, the length so far kept in used: strlen() or strncat()
     * here would walk the whole line again for every byte. */
    for (; query[used] != '\0' && used + 1 < size; used++)
        line[used] = isprint((unsigned char)query[used]) ? query[used] : '?';
    line[used] = '\0';
}

/* Logs one request's query to stderr, made printable, when HI_DEBUG asks
 * for it; otherwise does nothing, not even the copy. */
static void log_request(const char *query)
{
    char line[LOG_QUERY_MAX + 1];

    if (!debug)
        return;
    printable_copy(line, sizeof line, query);
    fprintf(stderr, "hi: GET /hi?%s\n", line);
}

/* ============================ Response =================================== */

/* The longest page: 64 color bytes, each escaped to at most 6, 20 digits
 * and the fixed text. */
#define PAGE_MAX (6 * COLOR_MAX + 96)

/* A page built in place, in whatever memory holds this struct (here, the
 * handler's stack). */
struct page {
    char bytes[PAGE_MAX];
    size_t length;
};

/* Appends length bytes of text to page. Returns 0, or -1 if they do not
 * fit (PAGE_MAX is sized so that a valid request never gets here). */
static int append(struct page *page, const char *text, size_t length)
{
    if (length > PAGE_MAX - page->length)
        return -1;
    memcpy(page->bytes + page->length, text, length);
    page->length += length;
    return 0;
}

/* Appends number in decimal. Returns what append() returns. */
static int append_number(struct page *page, unsigned long number)
{
    char digits[20];
    size_t first = sizeof digits;

    do {
        digits[--first] = (char)('0' + number % 10);
        number /= 10;
    } while (number != 0);
    return append(page, digits + first, sizeof digits - first);
}

/* Returns the entity that stands for c in HTML text or an attribute
 * value, or NULL when c stands for itself. */
static const char *html_entity(char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    default: return NULL;
    }
}

/* Appends the length bytes of text to page, with every character that
 * HTML treats as markup replaced by its entity. Returns 0, or -1 if it
 * does not fit. The validation lets no such character through today;
 * escaping anyway keeps a quote from ever closing the attribute. It is
 * not what keeps the page safe: the color lands in CSS, inside a style
 * attribute, where "red;background:url(...)" needs no markup at all. The
 * allow-list, ^\w*$, is the defence; this is the second line. Straight
 * into the page, in one pass over a length already known: nothing to
 * allocate, nothing measured twice. */
static int append_escaped(struct page *page, const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        const char *entity = html_entity(text[i]);
        int result = entity != NULL ? append(page, entity, strlen(entity))
                                    : append(page, &text[i], 1);

        if (result != 0)
            return -1;
    }
    return 0;
}

/* Builds the welcome page for color (color_length bytes) and visitor in
 * page. Returns 0, or -1 if it did not fit. */
static int welcome_page(struct page *page, const char *color, size_t color_length,
                        unsigned long visitor)
{
    static const char opening[] = "<h1 style='color: ";
    static const char greeting[] = "'>Welcome!</h1>You are visitor number ";

    page->length = 0;
    if (append(page, opening, sizeof opening - 1) != 0 ||
        append_escaped(page, color, color_length) != 0 ||
        append(page, greeting, sizeof greeting - 1) != 0 ||
        append_number(page, visitor) != 0)
        return -1;
    return append(page, "!", 1);
}

/* ============================ Handler ==================================== */

/* Compiles the pattern, to machine code too where pcre2's JIT can, and
 * makes the thread-specific key. Returns 0, or -1 after saying why, with
 * nothing left allocated. */
int hi_init(void)
{
    PCRE2_SIZE error_offset;
    int error_code;

    color_pattern = pcre2_compile((PCRE2_SPTR)COLOR_PATTERN, PCRE2_ZERO_TERMINATED,
                                  COLOR_PATTERN_OPTIONS, &error_code, &error_offset, NULL);
    if (color_pattern == NULL) {
        PCRE2_UCHAR reason[128];

        pcre2_get_error_message(error_code, reason, sizeof reason);
        fprintf(stderr, "hi: cannot compile %s at offset %zu: %s\n",
                COLOR_PATTERN, (size_t)error_offset, (char *)reason);
        return -1;
    }
    /* Without JIT (another CPU, or a system that forbids writable code)
     * pcre2_match() interprets the pattern: slower, still correct. */
    error_code = pcre2_jit_compile(color_pattern, PCRE2_JIT_COMPLETE);
    jit_compiled = error_code == 0;
    if (!jit_compiled)
        fprintf(stderr, "hi: pcre2 JIT unavailable (%d), matching interpreted\n", error_code);
    debug = debug_enabled();
    started_cpu_ns = process_cpu_ns();
    if (pthread_key_create(&thread_match_key, free_thread_match) != 0) {
        fprintf(stderr, "hi: cannot create a thread-specific key\n");
        goto fail;
    }
    if (pthread_key_create(&counts_key, add_to_totals) != 0) {
        fprintf(stderr, "hi: cannot create a thread-specific key\n");
        pthread_key_delete(thread_match_key);
        goto fail;
    }
    return 0;

fail:
    pcre2_code_free(color_pattern);
    color_pattern = NULL;
    return -1;
}

/* The handler: its contract is in hi.h. */
void hi_handle(struct response_writer *writer, const char *query)
{
    char color[COLOR_MAX + 1];
    struct page page;
    int length = query_color(query, color, sizeof color);
    int valid = length < 0 ? 0 : color_is_valid(color, (size_t)length);

    log_request(query != NULL ? query : "");
    if (valid == 0) {
        count_request(400, 0);
        respond_error(writer, 400, "Optional color is invalid", NULL);
        return;
    }
    if (valid < 0 || welcome_page(&page, color, (size_t)length, next_visitor()) != 0) {
        respond_error(writer, 500, "500 internal server error", NULL);
        return;
    }
    count_request(200, page.length);

    struct response response = {
        .status = 200,
        .content_type = "text/html; charset=utf-8",
        .body = page.bytes,
        .body_length = page.length,
    };
    writer->send(writer, &response);
}

/* Prints the statistics when HI_DEBUG is set, and frees what hi_init()
 * made, so LeakSanitizer finds nothing at exit. */
void hi_shutdown(void)
{
    unsigned long long spent = process_cpu_ns() - started_cpu_ns;
    struct counts all;

    /* The worker threads have exited and added theirs (civetweb joins
     * them first); this thread has not, so it adds its own, once. */
    pthread_setspecific(counts_key, NULL);
    add_to_totals(&thread_counts);
    pthread_key_delete(counts_key);
    pthread_mutex_lock(&totals_lock);
    all = totals;
    pthread_mutex_unlock(&totals_lock);
    if (debug)
        fprintf(stderr, "hi: %lu pages (%lu bytes), %lu rejected, %llu ns of CPU each\n",
                all.pages, all.bytes, all.rejected,
                all.pages + all.rejected != 0 ? spent / (all.pages + all.rejected) : 0);
    /* Other threads freed theirs on exit; this one's is still here. */
    free_thread_match(pthread_getspecific(thread_match_key));
    pthread_setspecific(thread_match_key, NULL);
    pthread_key_delete(thread_match_key);
    pcre2_code_free(color_pattern);
    color_pattern = NULL;
}
