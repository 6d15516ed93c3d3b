/*
 * check_contract.c - the contract of GET /hi, through the recorder.
 *
 * The handler is called as the server calls it, through route_request(),
 * but into an in-memory recorder (tests/recorder.c): valid and invalid
 * queries, other methods, other paths, the visitor numbering, the
 * recorder itself, and parallel calls. The same for every stage: the
 * stages exist to get faster, never different. Only the exact numbering
 * under parallel calls waits for a race-free stage.
 *
 * Check runs each test in a fresh child process (CK_FORK=yes, which
 * check_main.c insists on), so every test starts at visitor number 1.
 * A failure names the request that broke, and the one before it.
 */
#include <stdio.h>
#include <string.h>

#include "check_suite.h"
#include "hi.h"
#include "recorder.h"
#include "router.h"
#include "visitors.h"

static struct recorder recorder;

/* The request last sent ([0]) and the one before it ([1]), for failure
 * messages: a check of the counter after a 400 names the 400's query. */
static struct sent { const char *method, *path, *query; } sent[2];

/* Returns what sent[which] was, for a failure message: its query, after
 * its method and path when they are not GET /hi; "" when there was none. */
static const char *sent_text(int which)
{
    static char text[2][800];
    const struct sent *r = &sent[which];
    int used = 0;

    text[which][0] = '\0';
    if (r->method == NULL)
        return text[which];
    if (strcmp(r->method, "GET") != 0)
        used += snprintf(text[which] + used, sizeof text[which] - (size_t)used, "method %s, ",
                         quote(r->method));
    if (strcmp(r->path, "/hi") != 0)
        used += snprintf(text[which] + used, sizeof text[which] - (size_t)used, "path %s, ",
                         quote(r->path));
    snprintf(text[which] + used, sizeof text[which] - (size_t)used, "query %s", quote(r->query));
    return text[which];
}

/* Runs in each test's own child process: a fresh stage, counter at 0. */
static void handler_setup(void)
{
    ck_assert_msg(hi_init() == 0, "hi_init() failed (its reason is on stderr), so no request can be tested");
    recorder_init(&recorder);
}

/* Frees the stage's state, as the server does at exit. */
static void handler_teardown(void)
{
    hi_shutdown();
}

/* Sends one request through the router into the recorder. */
static void request(const char *method, const char *path, const char *query)
{
    sent[1] = sent[0];
    sent[0] = (struct sent){ method, path, query };
    recorder_reset(&recorder);
    route_request(&recorder.writer, method, path, query);
    ck_assert_msg(recorder.responses == 1, "%s: %d responses, want exactly 1",
                  sent_text(0), recorder.responses);
}

/* Asserts the recorder holds exactly this response. One check: its
 * message names the request (and the one before it, whose effect on the
 * counter this may be checking) and every field that differs. */
static void assert_recorded(int status, const char *content_type, const char *extra_headers,
                            const char *body, size_t body_length)
{
    struct mismatch m = { .used = 0 };

    mismatch_int(&m, "status", recorder.status, status);
    mismatch_string(&m, "Content-Type", recorder.content_type, content_type);
    mismatch_string(&m, "extra headers", recorder.extra_headers, extra_headers);
    mismatch_bytes(&m, "body", recorder.body, recorder.body_length, body, body_length);
    ck_assert_msg(m.used == 0, "%s%s%s:%s", sent_text(0), sent[1].method ? ", after " : "",
                  sent_text(1), m.text);
}

/* Asserts the recorder holds exactly the welcome page for color/visitor. */
static void assert_welcome(const char *color, unsigned long visitor)
{
    char page[256];
    int length = expected_page(page, sizeof page, color, visitor);

    assert_recorded(200, "text/html; charset=utf-8", "", page, (size_t)length);
}

/* Asserts the recorder holds exactly the plain-text error for status. */
static void assert_error(int status, const char *body, const char *extra_headers)
{
    assert_recorded(status, "text/plain; charset=utf-8", extra_headers, body, strlen(body));
}

/* ============================ Queries ==================================== */

/* 64 bytes is the longest valid color, 65 the shortest too long. */
#define A16 "aaaaaaaaaaaaaaaa"
#define COLOR_64 A16 A16 A16 A16
#define COLOR_65 COLOR_64 "a"

/* Queries that must be answered with a welcome page for color. */
static const struct { const char *query, *color; } valid_queries[] = {
    { "color=red", "red" },
    { "color=Red_1", "Red_1" },
    { "color=0123456789", "0123456789" },
    { "color=" COLOR_64, COLOR_64 },
    { "color=%72%65%64", "red" },              /* escapes decode first */
    { "c%6flor=green", "green" },              /* so do names */
    { "x=1&color=blue&y=2", "blue" },
    { "color=blue&color=%3Cb%3E", "blue" },    /* the first color counts */
    { NULL, "" },                              /* no query at all */
    { "", "" },
    { "color=", "" },
    { "color", "" },
    { "colour=red", "" },                      /* not the color parameter */
    { "COLOR=red", "" },                       /* names are case-sensitive */
};

/* Queries that must be answered 400 without touching the counter (also
 * sent to the live server by check_live.c: see check_suite.h). */
const char *const invalid_queries[] = {
    "color='",  "color=%27",  "color=%22",  "color=red'",
    "color=<script>alert(1)</script>",
    "color=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "color=red;background:url(x)",
    "color=%00", "color=red%00", "color=%00red",           /* NUL bytes */
    "color=%C3%A9", "color=caf%C3%A9", "color=%FF", "color=\xc3\xa9",  /* non-ASCII */
    "color=red+blue", "color=red%20blue", "color=+",        /* spaces */
    "color=red%0A", "color=red%0D%0A", "color=%0A",          /* the "$" trap */
    "color=a-b", "color=a.b", "color=%25", "color=a%2Bb",
    "color=%zz", "color=%4", "color=%", "color=red%",        /* bad escapes */
    "color=%3Cb%3E&color=blue",                               /* first counts */
    "color=" COLOR_65,
    "color=" COLOR_64 COLOR_64 COLOR_64 COLOR_64 COLOR_64,
};
const int invalid_query_count = COUNT(invalid_queries);

START_TEST(test_valid_color)
{
    request("GET", "/hi", valid_queries[_i].query);
    assert_welcome(valid_queries[_i].color, 1);
}
END_TEST

START_TEST(test_invalid_color_leaves_counter)
{
    request("GET", "/hi", invalid_queries[_i]);
    assert_error(400, INVALID_BODY, "");
    request("GET", "/hi", "color=ok");
    assert_welcome("ok", 1);   /* the 400 handed out no number */
}
END_TEST

START_TEST(test_visitors_numbered_in_order)
{
    for (unsigned long visitor = 1; visitor <= 100; visitor++) {
        request("GET", "/hi", visitor % 2 ? "color=red" : "color=blue");
        assert_welcome(visitor % 2 ? "red" : "blue", visitor);
        request("GET", "/hi", "color=%3C");   /* never counts */
        assert_error(400, INVALID_BODY, "");
    }
}
END_TEST

/* ============================ Methods and paths ========================== */

static const char *const other_methods[] = { "POST", "HEAD", "PUT", "DELETE", "get" };

START_TEST(test_other_method_is_405)
{
    request(other_methods[_i], "/hi", "color=red");
    assert_error(405, "405 method not allowed\n", "Allow: GET\r\n");
    request("GET", "/hi", "color=red");
    assert_welcome("red", 1);
}
END_TEST

static const char *const other_paths[] = { "/", "/hi/", "/HI", "/hello", "/hi.html", "" };

START_TEST(test_other_path_is_404)
{
    request("GET", other_paths[_i], "color=red");
    assert_error(404, "404 page not found\n", "");
    request("GET", "/hi", "color=red");
    assert_welcome("red", 1);
}
END_TEST

/* ============================ The recorder =============================== */

START_TEST(test_recorder_reuse_and_overflow)
{
    static char big[RECORDER_BODY_MAX + 1];
    struct response response = {
        .status = 200, .content_type = "text/plain", .body = big, .body_length = sizeof big,
    };

    request("GET", "/hi", "color=red");
    recorder_reset(&recorder);
    ck_assert_msg(recorder.responses == 0 && recorder.status == 0 && recorder.body_length == 0,
                  "after GET /hi?color=red and recorder_reset(): %d responses, status %d,"
                  " %zu body bytes; want 0, 0, 0", recorder.responses, recorder.status,
                  recorder.body_length);
    /* A body larger than the recorder is reported, not silently cut. */
    ck_assert_msg(recorder.writer.send(&recorder.writer, &response) == -1,
                  "a %zu-byte body into a %d-byte recorder: send returned success, want -1",
                  response.body_length, RECORDER_BODY_MAX);
    response.body_length = RECORDER_BODY_MAX;
    recorder_reset(&recorder);
    ck_assert_msg(recorder.writer.send(&recorder.writer, &response) == 0,
                  "a %d-byte body, exactly the recorder's size: send returned -1, want 0",
                  RECORDER_BODY_MAX);
}
END_TEST

/* ============================ Parallel calls ============================= */

/* Under parallel calls every response is still a correct page, in any
 * stage; in a race-free one, each number 1..8000 is handed out exactly
 * once. */
START_TEST(test_parallel_calls)
{
    static unsigned long numbers[4 * 2000];
    struct numbering result;
    char line[160];

    ck_assert_msg(handle_in_parallel(4, 2000, numbers) == 0,
                  "4 threads x 2000 calls of GET /hi?color=red: the threads could not run");
    check_numbering(numbers, 4 * 2000, &result);
    ck_assert_msg(result.invalid == 0, "4 threads x 2000 calls of GET /hi?color=red: %zu responses"
                  " were not a welcome page (%s)", result.invalid,
                  describe_numbering(&result, line, sizeof line));
    if (unit_race_free)
        ck_assert_msg(numbering_exact(&result, 1),
                      "4 threads x 2000 calls: %s, want visitors 1..8000 each once",
                      describe_numbering(&result, line, sizeof line));
}
END_TEST

/* Returns the "handler" test case. */
TCase *contract_tcase(void)
{
    TCase *tc = tcase_create("handler");

    tcase_add_checked_fixture(tc, handler_setup, handler_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_valid_color, 0, COUNT(valid_queries));
    tcase_add_loop_test(tc, test_invalid_color_leaves_counter, 0, COUNT(invalid_queries));
    tcase_add_test(tc, test_visitors_numbered_in_order);
    tcase_add_loop_test(tc, test_other_method_is_405, 0, COUNT(other_methods));
    tcase_add_loop_test(tc, test_other_path_is_404, 0, COUNT(other_paths));
    tcase_add_test(tc, test_recorder_reuse_and_overflow);
    tcase_add_test(tc, test_parallel_calls);
    return tc;
}
