/*
 * Stage 5: a match data per thread.
 *
 * The GET /hi handler. What this stage changes, and why, is told in
 * README.md next to this file; `make diff` shows the code of the change.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

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
 * do not, -1 when pcre2 fails (out of memory). No thread waits here. */
static int color_is_valid(const char *color, size_t length)
{
    pcre2_match_data *match = thread_match();

    if (match == NULL)
        return -1;
    return match_result(pcre2_match(color_pattern, (PCRE2_SPTR)color, length, 0, 0,
                                    match, NULL));
}

/* ============================ Visitor counter ============================ */

/* Bytes that keep two variables out of each other's cache line: a line
 * is 64 bytes on x86-64 and most arm64 CPUs, 128 on Apple's, and Intel's
 * L2 prefetcher fetches lines in pairs. */
#define CACHE_LINE_PAIR 128

/* Shared by every worker thread; only ever touched atomically. Every
 * request writes it, so it gets a line of its own: a variable beside it
 * that every request reads (the pattern, the key) would otherwise be
 * fetched back from whichever CPU counted last (false sharing). _Alignas
 * on the only member aligns the struct and pads its size to 128 bytes. */
static struct {
    _Alignas(CACHE_LINE_PAIR) atomic_ulong value;
} visitor_count;

/* Returns this visitor's number: 1, 2, 3, ..., each exactly once.
 * atomic_fetch_add returns the value before the add, hence the + 1. */
static unsigned long next_visitor(void)
{
    return atomic_fetch_add(&visitor_count.value, 1) + 1;
}

/* ============================ Response =================================== */

/* The longest page: 64 color bytes, 20 digits and the fixed text. */
#define PAGE_MAX 160

/* A page built in place, in whatever memory holds this struct (here, the
 * handler's stack). Appending never allocates. */
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

/* Builds the welcome page for color (color_length bytes) and visitor in
 * page. Returns 0, or -1 if it did not fit. Plain appends rather than
 * snprintf: a format string is parsed again on every call, and here
 * that costs more than the copying itself. */
static int welcome_page(struct page *page, const char *color, size_t color_length,
                        unsigned long visitor)
{
    static const char opening[] = "<h1 style='color: ";
    static const char greeting[] = "'>Welcome!</h1>You are visitor number ";

    page->length = 0;
    if (append(page, opening, sizeof opening - 1) != 0 ||
        append(page, color, color_length) != 0 ||
        append(page, greeting, sizeof greeting - 1) != 0 ||
        append_number(page, visitor) != 0)
        return -1;
    return append(page, "!", 1);
}

/* ============================ Handler ==================================== */

/* Compiles the pattern and makes the thread-specific key. Returns 0, or
 * -1 after saying why, with nothing left allocated. */
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
    if (pthread_key_create(&thread_match_key, free_thread_match) != 0) {
        fprintf(stderr, "hi: cannot create a thread-specific key\n");
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

    if (valid == 0) {
        respond_error(writer, 400, "Optional color is invalid", NULL);
        return;
    }
    if (valid < 0 || welcome_page(&page, color, (size_t)length, next_visitor()) != 0) {
        respond_error(writer, 500, "500 internal server error", NULL);
        return;
    }

    struct response response = {
        .status = 200,
        .content_type = "text/html; charset=utf-8",
        .body = page.bytes,
        .body_length = page.length,
    };
    writer->send(writer, &response);
}

/* Frees what hi_init() made, so LeakSanitizer finds nothing at exit. */
void hi_shutdown(void)
{
    /* Other threads freed theirs on exit; this one's is still here. */
    free_thread_match(pthread_getspecific(thread_match_key));
    pthread_setspecific(thread_match_key, NULL);
    pthread_key_delete(thread_match_key);
    pcre2_code_free(color_pattern);
    color_pattern = NULL;
}
