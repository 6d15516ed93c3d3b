/*
 * Stage 1: naive.
 *
 * The GET /hi handler. What this stage changes, and why, is told in
 * README.md next to this file; `make diff` shows the code of the change.
 */
#include <stdio.h>
#include <stdlib.h>
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

/* Returns what a pcre2 match result means here: 1 for a match, 0 for
 * none, -1 when pcre2 failed (out of memory, say), which is not a "no". */
static int match_result(int result)
{
    return result >= 0 ? 1 : result == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

/* Returns 1 when the length bytes at color match the pattern, 0 when they
 * do not, -1 when pcre2 fails (out of memory). Compiles the pattern anew
 * on every call: the cost a CPU profile of this stage shows first. */
static int color_is_valid(const char *color, size_t length)
{
    pcre2_code *pattern;
    pcre2_match_data *match = NULL;
    PCRE2_SIZE error_offset;
    int error_code;
    int valid = -1;

    pattern = pcre2_compile((PCRE2_SPTR)COLOR_PATTERN, PCRE2_ZERO_TERMINATED,
                            COLOR_PATTERN_OPTIONS, &error_code, &error_offset, NULL);
    if (pattern == NULL)
        goto cleanup;
    match = pcre2_match_data_create_from_pattern(pattern, NULL);
    if (match == NULL)
        goto cleanup;
    valid = match_result(pcre2_match(pattern, (PCRE2_SPTR)color, length, 0, 0,
                                     match, NULL));

cleanup:
    pcre2_match_data_free(match);   /* both accept NULL */
    pcre2_code_free(pattern);
    return valid;
}

/* ============================ Visitor counter ============================ */

/* Shared by every worker thread and updated without synchronization:
 * two requests can read the same value and hand out the same number. */
static unsigned long visitor_count;

/* Returns this visitor's number: 1, 2, 3, ... (or so it hopes). */
static unsigned long next_visitor(void)
{
    return ++visitor_count;
}

/* ============================ Response =================================== */

/* Returns a new heap string holding a then b, or NULL when memory runs out.
 * Like a + b on Go strings: every join allocates and copies everything. */
static char *concat(const char *a, const char *b)
{
    size_t a_length = strlen(a);
    size_t b_length = strlen(b);
    char *joined = malloc(a_length + b_length + 1);

    if (joined == NULL)
        return NULL;
    memcpy(joined, a, a_length);
    memcpy(joined + a_length, b, b_length + 1);
    return joined;
}

/* Returns the welcome page for color and visitor as a heap string the
 * caller frees, or NULL when memory runs out. */
static char *welcome_page(const char *color, unsigned long visitor)
{
    char number[24];
    char *opening = NULL, *greeting = NULL, *numbered = NULL, *page = NULL;

    snprintf(number, sizeof number, "%lu", visitor);
    opening = concat("<h1 style='color: ", color);
    if (opening == NULL)
        goto cleanup;
    greeting = concat(opening, "'>Welcome!</h1>You are visitor number ");
    if (greeting == NULL)
        goto cleanup;
    numbered = concat(greeting, number);
    if (numbered == NULL)
        goto cleanup;
    page = concat(numbered, "!");

cleanup:
    free(numbered);
    free(greeting);
    free(opening);
    return page;
}

/* ============================ Handler ==================================== */

/* Returns 0: nothing to prepare, everything happens per request. */
int hi_init(void)
{
    return 0;
}

/* The handler: its contract is in hi.h. */
void hi_handle(struct response_writer *writer, const char *query)
{
    char color[COLOR_MAX + 1];
    int length = query_color(query, color, sizeof color);
    int valid = length < 0 ? 0 : color_is_valid(color, (size_t)length);
    char *page;

    if (valid == 0) {
        respond_error(writer, 400, "Optional color is invalid", NULL);
        return;
    }
    page = valid < 0 ? NULL : welcome_page(color, next_visitor());
    if (page == NULL) {
        respond_error(writer, 500, "500 internal server error", NULL);
        return;
    }

    struct response response = {
        .status = 200,
        .content_type = "text/html; charset=utf-8",
        .body = page,
        .body_length = strlen(page),
    };
    writer->send(writer, &response);
    free(page);
}

/* Nothing to free: hi_init() made nothing. */
void hi_shutdown(void)
{
}
