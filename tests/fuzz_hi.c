/*
 * fuzz_hi.c - differential fuzzing of the stages (`make fuzz`).
 *
 * The stages exist to be faster, never different. libFuzzer feeds
 * arbitrary query strings to every stage's handler, all linked into this
 * one binary (the Makefile renames each stage's hi_* functions to
 * stageN_hi_* and lists the stages in FOR_EACH_STAGE),
 * and to an oracle: a plain, independent reading of the contract. Any
 * difference in status, content type, headers or body aborts with both
 * responses printed; AddressSanitizer and UBSan catch the rest.
 *
 * Visitor numbers are part of the comparison: the fuzzer is
 * single-threaded, so after k valid requests every stage must say k + 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder.h"

#define QUERY_MAX 1024

/* ============================ The stages ================================= */

/* FOR_EACH_STAGE(X) is X(1) X(2) ... for every stage in stages/stages.txt,
 * passed by the Makefile. */
#ifndef FOR_EACH_STAGE
#error "build through the Makefile (make fuzz), which defines FOR_EACH_STAGE"
#endif

#define DECLARE_STAGE(n)                                                     \
    int stage##n##_hi_init(void);                                            \
    void stage##n##_hi_handle(struct response_writer *writer, const char *query);
FOR_EACH_STAGE(DECLARE_STAGE)

#define HANDLER_OF(n) stage##n##_hi_handle,
#define NUMBER_OF(n) n,
static void (*const handlers[])(struct response_writer *, const char *) = {
    FOR_EACH_STAGE(HANDLER_OF)
};
static const int stage_numbers[] = { FOR_EACH_STAGE(NUMBER_OF) };
#define STAGES (sizeof handlers / sizeof handlers[0])

/* ============================ The oracle ================================= */

/* Returns 1 when c may appear in a valid color. */
static int is_color_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Returns the value of hex digit c, or -1. Written again on purpose, not
 * shared with common/query.c: an oracle that calls the code it checks
 * would share its bugs. */
static int hex(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes text[0..length) into out (capacity bytes). Returns the decoded
 * length, or -1 for a bad escape or when it does not fit. */
static long decode(const char *text, size_t length, char *out, size_t capacity)
{
    size_t used = 0;

    for (size_t i = 0; i < length; i++) {
        int byte = (unsigned char)text[i];

        if (byte == '+')
            byte = ' ';
        else if (byte == '%') {
            if (length - i < 3 || hex((unsigned char)text[i + 1]) < 0 || hex((unsigned char)text[i + 2]) < 0)
                return -1;
            byte = hex((unsigned char)text[i + 1]) * 16 + hex((unsigned char)text[i + 2]);
            i += 2;
        }
        if (used == capacity)
            return -1;
        out[used++] = (char)byte;
    }
    return (long)used;
}

/* Fills color (65 bytes) and returns 1 when query is valid per the
 * contract, 0 when it must be answered 400. */
static int oracle(const char *query, char *color)
{
    const char *pair = query;

    color[0] = '\0';
    while (*pair) {
        const char *end = pair + strcspn(pair, "&");
        const char *equals = memchr(pair, '=', (size_t)(end - pair));
        const char *name_end = equals ? equals : end;
        char name[8];

        if (decode(pair, (size_t)(name_end - pair), name, sizeof name) == 5 &&
            memcmp(name, "color", 5) == 0) {
            const char *value = equals ? equals + 1 : end;
            long length = decode(value, (size_t)(end - value), color, 64);

            if (length < 0)
                return 0;
            color[length] = '\0';
            for (long i = 0; i < length; i++)
                if (!is_color_byte((unsigned char)color[i]))
                    return 0;
            return 1;
        }
        pair = *end ? end + 1 : end;
    }
    return 1;   /* no color parameter: the empty color, which is valid */
}

/* ============================ Comparison ================================= */

static unsigned long valid_requests;   /* so far, the same for every stage */

/* Aborts after printing what stage said and what it should have said. */
static void report(int stage, const char *query, const struct recorder *got,
                   int want_status, const char *want_body)
{
    fprintf(stderr, "stage %d differs for query \"%s\":\n"
                    "  got  %d [%s] [%s] \"%s\"\n  want %d \"%s\"\n",
            stage, query, got->status, got->content_type, got->extra_headers, got->body,
            want_status, want_body);
    abort();
}

/* libFuzzer calls this once: prepares every stage. Returns 0. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
#define INIT_STAGE(n) if (stage##n##_hi_init() != 0) abort();
    (void)argc;
    (void)argv;
    FOR_EACH_STAGE(INIT_STAGE)
    return 0;
}

/* libFuzzer's entry: data is one query string. Every stage must answer it
 * exactly as the oracle says; a difference aborts. Returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct recorder recorder;
    char query[QUERY_MAX + 1], color[65], want[256];
    int valid;

    if (size > QUERY_MAX)
        return 0;
    memcpy(query, data, size);
    query[size] = '\0';   /* a query string ends at its first NUL anyway */

    valid = oracle(query, color);
    if (valid)
        valid_requests++;
    if (valid)
        snprintf(want, sizeof want,
                 "<h1 style='color: %s'>Welcome!</h1>You are visitor number %lu!",
                 color, valid_requests);
    else
        snprintf(want, sizeof want, "Optional color is invalid\n");

    for (size_t stage = 0; stage < STAGES; stage++) {
        recorder_init(&recorder);
        handlers[stage](&recorder.writer, query);
        if (recorder.responses != 1 || recorder.status != (valid ? 200 : 400) ||
            strcmp(recorder.content_type, valid ? "text/html; charset=utf-8"
                                                : "text/plain; charset=utf-8") != 0 ||
            recorder.extra_headers[0] != '\0' || recorder.body_length != strlen(want) ||
            memcmp(recorder.body, want, recorder.body_length) != 0)
            report(stage_numbers[stage], query, &recorder, valid ? 200 : 400, want);
    }
    return 0;
}
