/*
 * check_hi.c - the one test suite every stage must pass.
 *
 * The Makefile builds it once per stage, against that stage's hi.c (or
 * the attendee's work/hi.c), with what stages/stages.txt expects of it:
 *   -DSTAGE=N            the stage it is checked as
 *   -DSTAGE_RACE_FREE=1  no data race, every visitor number once (0: the
 *                        race is kept on purpose, and must be reported)
 *   -DSUITE_NAME="..."   what Check calls the suite ("stage3", or "work")
 * The contract tests are the same for every stage: the stages exist to
 * get faster, never different. Only the race tests differ, because
 * stages 1 and 2 keep their data race on purpose and the suite proves
 * ThreadSanitizer sees it.
 *
 * Environment, set by the Makefile:
 *   HI_SERVER       this stage's server binary
 *   HI_SERVER_TSAN  the same server built with -fsanitize=thread
 *   HI_RACE         tests/race.c for this stage, built with -fsanitize=thread
 *   HI_RACE_PLAIN   tests/race.c for this stage, built without it
 *
 * Check runs each test in a fresh child process (CK_FORK=yes, its
 * default), so every handler test starts at visitor number 1.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hi.h"
#include "http_client.h"
#include "recorder.h"
#include "robust.h"
#include "router.h"
#include "server_process.h"
#include "visitors.h"

#if !defined(STAGE) || !defined(STAGE_RACE_FREE) || !defined(SUITE_NAME)
#error "build through the Makefile: it sets STAGE, STAGE_RACE_FREE and SUITE_NAME"
#endif

#define STAGE_IS_RACE_FREE STAGE_RACE_FREE

#define INVALID_BODY "Optional color is invalid\n"

/* Returns $name, failing the test with a clear message when it is unset. */
static const char *required_environment(const char *name)
{
    const char *value = getenv(name);

    ck_assert_msg(value != NULL && *value != '\0',
                  "%s is not set: run the suite through `make stageN test`", name);
    return value;
}

/* Returns 1 when text contains needle (text may be NULL). */
static int contains(const char *text, const char *needle)
{
    return text != NULL && strstr(text, needle) != NULL;
}

/* ============================ The handler, through the recorder ========== */

static struct recorder recorder;

/* Runs in each test's own child process: a fresh stage, counter at 0. */
static void handler_setup(void)
{
    ck_assert_int_eq(hi_init(), 0);
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
    recorder_reset(&recorder);
    route_request(&recorder.writer, method, path, query);
    ck_assert_int_eq(recorder.responses, 1);   /* exactly one response */
}

/* Asserts the recorder holds exactly the welcome page for color/visitor. */
static void assert_welcome(const char *color, unsigned long visitor)
{
    char page[256];
    int length = expected_page(page, sizeof page, color, visitor);

    ck_assert_int_eq(recorder.status, 200);
    ck_assert_str_eq(recorder.content_type, "text/html; charset=utf-8");
    ck_assert_str_eq(recorder.extra_headers, "");
    ck_assert_uint_eq(recorder.body_length, (size_t)length);
    ck_assert_mem_eq(recorder.body, page, (size_t)length);
}

/* Asserts the recorder holds exactly the plain-text error for status. */
static void assert_error(int status, const char *body, const char *extra_headers)
{
    ck_assert_int_eq(recorder.status, status);
    ck_assert_str_eq(recorder.content_type, "text/plain; charset=utf-8");
    ck_assert_str_eq(recorder.extra_headers, extra_headers);
    ck_assert_uint_eq(recorder.body_length, strlen(body));
    ck_assert_str_eq(recorder.body, body);
}

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

/* Queries that must be answered 400 without touching the counter. */
static const char *const invalid_queries[] = {
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

START_TEST(test_recorder_reuse_and_overflow)
{
    static char big[RECORDER_BODY_MAX + 1];
    struct response response = {
        .status = 200, .content_type = "text/plain", .body = big, .body_length = sizeof big,
    };

    request("GET", "/hi", "color=red");
    recorder_reset(&recorder);
    ck_assert_int_eq(recorder.responses, 0);
    ck_assert_int_eq(recorder.status, 0);
    ck_assert_uint_eq(recorder.body_length, 0);
    /* A body larger than the recorder is reported, not silently cut. */
    ck_assert_int_eq(recorder.writer.send(&recorder.writer, &response), -1);
    response.body_length = RECORDER_BODY_MAX;
    recorder_reset(&recorder);
    ck_assert_int_eq(recorder.writer.send(&recorder.writer, &response), 0);
}
END_TEST

/* Any stage: under parallel calls every response is still a correct page. */
START_TEST(test_parallel_pages_well_formed)
{
    static unsigned long numbers[4 * 2000];
    struct numbering result;

    ck_assert_int_eq(handle_in_parallel(4, 2000, numbers), 0);
    check_numbering(numbers, 4 * 2000, &result);
    ck_assert_uint_eq(result.invalid, 0);
}
END_TEST

/* Race-free stages only: each number 1..8000 is handed out exactly once. */
START_TEST(test_parallel_numbers_exact)
{
    static unsigned long numbers[4 * 2000];
    struct numbering result;

    ck_assert_int_eq(handle_in_parallel(4, 2000, numbers), 0);
    check_numbering(numbers, 4 * 2000, &result);
    ck_assert_uint_eq(result.invalid, 0);
    ck_assert_uint_eq(result.duplicates, 0);
    ck_assert_uint_eq(result.missing, 0);
    ck_assert_uint_eq(result.lowest, 1);
    ck_assert_uint_eq(result.highest, 4 * 2000);
}
END_TEST

/* ============================ The live server ============================ */

/* One server for the whole test case: civetweb needs up to 2 s to stop.
 * It is started in the parent before Check forks each test. */
static struct server_process live_server;

/* Starts the test case's shared server; exits when it cannot, since
 * every test of the case would fail for the same reason. */
static void live_setup(void)
{
    const char *binary = required_environment("HI_SERVER");

    if (server_start(&live_server, binary, "0") != 0) {
        fprintf(stderr, "cannot start %s: first line \"%s\", exit %d\n", binary,
                live_server.first_line, live_server.exit_status);
        exit(1);
    }
}

/* Stops the shared server and removes its stderr file. */
static void live_teardown(void)
{
    server_stop(&live_server, SIGTERM);
    unlink(live_server.stderr_path);
}

/* Sends request on a new connection and reads the response into response. */
static void exchange(const char *request_text, struct http_response *response)
{
    int fd = http_connect(live_server.port);

    ck_assert_msg(fd >= 0, "cannot connect to port %d", live_server.port);
    ck_assert_int_eq(http_send(fd, request_text, strlen(request_text)), 0);
    ck_assert_msg(http_read_response(fd, response) == 0,
                  "no well-formed response to %s", request_text);
    close(fd);
}

/* Asserts response is byte for byte the given status, headers and body. */
static void assert_raw(const struct http_response *response, const char *status_line,
                       const char *content_type, const char *extra, const char *body,
                       const char *connection)
{
    char expected[1024];

    snprintf(expected, sizeof expected,
             "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
             "Connection: %s\r\n%s\r\n%s",
             status_line, content_type, strlen(body), connection, extra, body);
    ck_assert_str_eq(response->raw, expected);
}

START_TEST(test_live_welcome_bytes)
{
    static struct http_response response;
    char page[256];
    unsigned long visitor;

    exchange("GET /hi?color=red HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", &response);
    visitor = visitor_in_page(response.body, response.body_length, "red");
    ck_assert_msg(visitor > 0, "not a welcome page: %s", response.raw);
    expected_page(page, sizeof page, "red", visitor);
    assert_raw(&response, "200 OK", "text/html; charset=utf-8", "", page, "keep-alive");
}
END_TEST

START_TEST(test_live_error_bytes)
{
    static struct http_response response;

    exchange("GET /hi?color=%3Cscript%3E HTTP/1.1\r\nHost: x\r\n\r\n", &response);
    assert_raw(&response, "400 Bad Request", "text/plain; charset=utf-8", "",
               INVALID_BODY, "keep-alive");
    exchange("POST /hi?color=red HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &response);
    assert_raw(&response, "405 Method Not Allowed", "text/plain; charset=utf-8",
               "Allow: GET\r\n", "405 method not allowed\n", "keep-alive");
    exchange("GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n", &response);
    assert_raw(&response, "404 Not Found", "text/plain; charset=utf-8", "",
               "404 page not found\n", "keep-alive");
}
END_TEST

START_TEST(test_live_connection_close)
{
    static struct http_response response;
    char byte;
    int fd = http_connect(live_server.port);
    const char *request_text = "GET /hi?color=red HTTP/1.0\r\n\r\n";

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(http_send(fd, request_text, strlen(request_text)), 0);
    ck_assert_int_eq(http_read_response(fd, &response), 0);
    ck_assert_msg(contains(response.raw, "\r\nConnection: close\r\n"), "%s", response.raw);
    ck_assert_int_eq(recv(fd, &byte, 1, 0), 0);   /* and it did close */
    close(fd);
}
END_TEST

/* A response split over several writes, with Nagle's algorithm on, waits
 * for the client's delayed ACK: about 40 ms, on every keep-alive request.
 * That signature is what this counts; it is no speed target. An answer on
 * loopback takes well under 1 ms, so a response that took STALL_MS or
 * more is a stall, and more than one in ten of them is a defect. */
#define STALL_MS 30

/* Keep-alive: 200 requests on one connection, numbers strictly in order,
 * the interleaved bad requests taking none, and no Nagle stalls. */
START_TEST(test_live_keep_alive_sequence)
{
    static struct http_response response;
    static const char good[] = "GET /hi?color=blue HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char bad[] = "GET /hi?color=%00 HTTP/1.1\r\nHost: x\r\n\r\n";
    unsigned long previous = 0;
    int stalls = 0;
    int fd = http_connect(live_server.port);

    ck_assert_int_ge(fd, 0);
    for (int i = 0; i < 200; i++) {
        unsigned long visitor;
        long long sent_ms = monotonic_ms();

        ck_assert_int_eq(http_send(fd, good, sizeof good - 1), 0);
        ck_assert_int_eq(http_read_response(fd, &response), 0);
        stalls += monotonic_ms() - sent_ms >= STALL_MS;
        visitor = visitor_in_page(response.body, response.body_length, "blue");
        ck_assert_msg(visitor > 0, "not a welcome page: %s", response.raw);
        if (previous != 0)
            ck_assert_uint_eq(visitor, previous + 1);
        previous = visitor;
        ck_assert_int_eq(http_send(fd, bad, sizeof bad - 1), 0);
        ck_assert_int_eq(http_read_response(fd, &response), 0);
        ck_assert_int_eq(response.status, 400);
    }
    close(fd);
    ck_assert_msg(stalls < 20, "%d of 200 keep-alive responses took %d ms or more:"
                  " is the response leaving in several writes with Nagle on?", stalls, STALL_MS);
}
END_TEST

/* Writes "/hi?" and query into target, escaping every byte that may not
 * appear raw in a request line; the decoded value stays the same. */
static void escaped_target(char *target, size_t size, const char *query)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789=&%+_.-";
    size_t used = (size_t)snprintf(target, size, "/hi?");

    for (const unsigned char *c = (const unsigned char *)query; *c && used + 4 < size; c++) {
        if (strchr(safe, *c) != NULL)
            target[used++] = (char)*c;
        else
            used += (size_t)snprintf(target + used, size - used, "%%%02X", *c);
    }
    target[used] = '\0';
}

/* The hostile table again, this time through civetweb's parser too. */
START_TEST(test_live_invalid_color)
{
    static struct http_response response;
    char target[512];

    escaped_target(target, sizeof target, invalid_queries[_i]);
    ck_assert_int_eq(http_get(live_server.port, target, &response), 0);
    ck_assert_int_eq(response.status, 400);
    ck_assert_uint_eq(response.body_length, strlen(INVALID_BODY));
    ck_assert_mem_eq(response.body, INVALID_BODY, strlen(INVALID_BODY));
}
END_TEST

START_TEST(test_live_parallel_well_formed)
{
    static unsigned long numbers[4 * 250];
    struct numbering result;

    ck_assert_int_eq(fetch_in_parallel(live_server.port, 4, 250, numbers), 0);
    check_numbering(numbers, 4 * 250, &result);
    ck_assert_uint_eq(result.invalid, 0);
}
END_TEST

/* Race-free stages: a contiguous block of numbers, each exactly once. */
START_TEST(test_live_parallel_exact)
{
    static unsigned long numbers[8 * 250];
    struct numbering result;

    ck_assert_int_eq(fetch_in_parallel(live_server.port, 8, 250, numbers), 0);
    check_numbering(numbers, 8 * 250, &result);
    ck_assert_uint_eq(result.invalid, 0);
    ck_assert_uint_eq(result.duplicates, 0);
    ck_assert_uint_eq(result.missing, 0);
    ck_assert_uint_eq(result.highest - result.lowest + 1, 8 * 250);
}
END_TEST

/* ============================ The server process ========================= */

START_TEST(test_port_zero_and_clean_stops)
{
    const char *binary = required_environment("HI_SERVER");
    static struct http_response response;
    struct server_process server;
    int signals[] = { SIGTERM, SIGINT };

    for (int i = 0; i < 2; i++) {
        ck_assert_msg(server_start(&server, binary, "0") == 0,
                      "no listening line, got \"%s\"", server.first_line);
        ck_assert_int_gt(server.port, 0);
        ck_assert_int_eq(http_get(server.port, "/hi?color=red", &response), 0);
        assert_raw(&response, "200 OK", "text/html; charset=utf-8", "",
                   "<h1 style='color: red'>Welcome!</h1>You are visitor number 1!",
                   "keep-alive");
        ck_assert_int_eq(server_stop(&server, signals[i]), 0);
        unlink(server.stderr_path);
    }
}
END_TEST

START_TEST(test_busy_port_is_an_error)
{
    const char *binary = required_environment("HI_SERVER");
    struct server_process first, second;
    char port_text[16], expected[64];
    char *message;

    ck_assert_int_eq(server_start(&first, binary, "0"), 0);
    snprintf(port_text, sizeof port_text, "%d", first.port);
    ck_assert_int_eq(server_start(&second, binary, port_text), -1);
    ck_assert_int_eq(second.exit_status, 1);
    message = server_stderr(&second);
    snprintf(expected, sizeof expected, "cannot listen on 127.0.0.1:%d", first.port);
    ck_assert_msg(contains(message, expected), "stderr was: %s", message);
    free(message);
    ck_assert_int_eq(server_stop(&first, SIGTERM), 0);
    unlink(first.stderr_path);
    unlink(second.stderr_path);
}
END_TEST

static const char *const bad_ports[] = { "http", "-1", "65536", "80x", "99999999999999999999" };

START_TEST(test_bad_port_is_an_error)
{
    struct server_process server;
    char *message;

    ck_assert_int_eq(server_start(&server, required_environment("HI_SERVER"), bad_ports[_i]), -1);
    ck_assert_int_eq(server.exit_status, 2);
    message = server_stderr(&server);
    ck_assert_msg(contains(message, "PORT must be a number"), "stderr was: %s", message);
    free(message);
    unlink(server.stderr_path);
}
END_TEST

/* ============================ ThreadSanitizer ============================ */

/* Returns how many times needle occurs in text. */
static int count_of(const char *text, const char *needle)
{
    int count = 0;

    for (const char *at = text; at != NULL && (at = strstr(at, needle)) != NULL; at++)
        count++;
    return count;
}

/* Asserts what ThreadSanitizer said, given the stage. output holds what
 * the sanitized program printed; status is how it exited. */
static void assert_race_verdict(int status, const char *output)
{
    if (STAGE_IS_RACE_FREE) {
        ck_assert_msg(!contains(output, "ThreadSanitizer"),
                      "stage %d expects no data race (race-free in stages/stages.txt),"
                      " but ThreadSanitizer reported one:\n%s", STAGE, output);
        ck_assert_msg(status == 0, "stage %d expects every visitor number once, but the"
                      " test exited with status %d:\n%s", STAGE, status, output);
        return;
    }
    /* 66 is ThreadSanitizer's exit status after a report. */
    ck_assert_msg(status == 66, "stage %d keeps its data race on purpose (race in"
                  " stages/stages.txt), so ThreadSanitizer must report it and exit with"
                  " status 66; the test exited with %d instead. Fixed the race? Work on a"
                  " copy, checked against the next stage: make work FROM=%d\n%s",
                  STAGE, status, STAGE, output);
    ck_assert_msg(contains(output, "WARNING: ThreadSanitizer: data race"), "%s", output);
    /* The intended race must be the only one: every report names it. */
    ck_assert_msg(count_of(output, "WARNING: ThreadSanitizer") ==
                  count_of(output, "Location is global 'visitor_count'"),
                  "a report that is not about visitor_count:\n%s", output);
}

/* Direct parallel calls of the handler: deterministic. */
START_TEST(test_race_direct_calls)
{
    char *output = NULL;
    int status = run_program(required_environment("HI_RACE"), 150, &output);

    assert_race_verdict(status, output);
    if (STAGE_IS_RACE_FREE)
        ck_assert_msg(contains(output, "every visitor number was handed out once"), "%s", output);
    free(output);
}
END_TEST

/* Race-free stages, at full speed without ThreadSanitizer: round after
 * round of parallel calls for a second, every number exactly once. */
START_TEST(test_race_free_at_full_speed)
{
    static char *const arguments[] = { "race", "--until-wrong", "1", NULL };
    char *output = NULL;
    int status = run_program_with(required_environment("HI_RACE_PLAIN"), arguments, 60, &output);

    ck_assert_msg(status == 0, "expected every round right, exit %d:\n%s", status, output);
    ck_assert_msg(contains(output, "every round right"), "%s", output);
    free(output);
}
END_TEST

/* Through the live server. Several keep-alive clients at once force the
 * handlers to overlap; one client at a time would let civetweb's own
 * locks order them and hide the race. */
START_TEST(test_race_live_server)
{
    static unsigned long numbers[4 * 200];
    struct server_process server;
    struct numbering result;
    char *output;
    int status;

    ck_assert_msg(server_start(&server, required_environment("HI_SERVER_TSAN"), "0") == 0,
                  "the ThreadSanitizer server did not start: \"%s\"", server.first_line);
    ck_assert_int_eq(fetch_in_parallel(server.port, 4, 200, numbers), 0);
    status = server_stop(&server, SIGTERM);
    output = server_stderr(&server);
    unlink(server.stderr_path);
    assert_race_verdict(status, output);
    free(output);

    check_numbering(numbers, 4 * 200, &result);
    ck_assert_uint_eq(result.invalid, 0);
    if (STAGE_IS_RACE_FREE) {
        ck_assert_uint_eq(result.duplicates, 0);
        ck_assert_uint_eq(result.missing, 0);
        ck_assert_uint_eq(result.lowest, 1);
        ck_assert_uint_eq(result.highest, 4 * 200);
    }
}
END_TEST

/* ============================ Suite ====================================== */

#define COUNT(array) ((int)(sizeof(array) / sizeof((array)[0])))

/* Returns the suite for this stage: the same tests for every stage, but
 * exact parallel numbering only where the counter is race-free. */
static Suite *hi_suite(void)
{
    Suite *suite = suite_create(SUITE_NAME);
    TCase *handler = tcase_create("handler");
    TCase *live = tcase_create("live");
    TCase *process = tcase_create("process");
    TCase *race = tcase_create("race");

    tcase_add_checked_fixture(handler, handler_setup, handler_teardown);
    tcase_set_timeout(handler, 60);
    tcase_add_loop_test(handler, test_valid_color, 0, COUNT(valid_queries));
    tcase_add_loop_test(handler, test_invalid_color_leaves_counter, 0, COUNT(invalid_queries));
    tcase_add_test(handler, test_visitors_numbered_in_order);
    tcase_add_loop_test(handler, test_other_method_is_405, 0, COUNT(other_methods));
    tcase_add_loop_test(handler, test_other_path_is_404, 0, COUNT(other_paths));
    tcase_add_test(handler, test_recorder_reuse_and_overflow);
    tcase_add_test(handler, test_parallel_pages_well_formed);
    if (STAGE_IS_RACE_FREE)
        tcase_add_test(handler, test_parallel_numbers_exact);
    suite_add_tcase(suite, handler);

    tcase_add_unchecked_fixture(live, live_setup, live_teardown);
    tcase_set_timeout(live, 60);
    tcase_add_test(live, test_live_welcome_bytes);
    tcase_add_test(live, test_live_error_bytes);
    tcase_add_test(live, test_live_connection_close);
    tcase_add_test(live, test_live_keep_alive_sequence);
    tcase_add_loop_test(live, test_live_invalid_color, 0, COUNT(invalid_queries));
    tcase_add_test(live, test_live_parallel_well_formed);
    if (STAGE_IS_RACE_FREE)
        tcase_add_test(live, test_live_parallel_exact);
    suite_add_tcase(suite, live);

    tcase_set_timeout(process, 60);
    tcase_add_test(process, test_port_zero_and_clean_stops);
    tcase_add_test(process, test_busy_port_is_an_error);
    tcase_add_loop_test(process, test_bad_port_is_an_error, 0, COUNT(bad_ports));
    suite_add_tcase(suite, process);

    suite_add_tcase(suite, robust_tcase());

    tcase_set_timeout(race, 180);
    tcase_add_test(race, test_race_direct_calls);
    tcase_add_test(race, test_race_live_server);
    if (STAGE_IS_RACE_FREE)
        tcase_add_test(race, test_race_free_at_full_speed);
    suite_add_tcase(suite, race);
    return suite;
}

/* Runs the suite. Returns EXIT_SUCCESS when every test passed. */
int main(void)
{
    SRunner *runner = srunner_create(hi_suite());
    int failed;

    /* Every test starts from visitor number 1 because each runs in a
     * fresh child process: keep that even if CK_FORK=no is set. */
    srunner_set_fork_status(runner, CK_FORK);

    /* CK_ENV: CK_VERBOSITY=verbose lists every test; CK_RUN_CASE=robust
     * runs one test case. Unset, it is the usual one-line summary. */
    srunner_run_all(runner, CK_ENV);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
