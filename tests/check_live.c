/*
 * check_live.c - the contract again, against the live server.
 *
 * The stage's real server binary ($HI_SERVER) on a free port, spoken to
 * over TCP by tests/http_client.c: the exact bytes of a welcome page and
 * of each error, keep-alive (in order, without Nagle stalls), Connection:
 * close, the hostile query table through civetweb's parser, and parallel
 * clients. One server serves the whole test case.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_suite.h"
#include "http_client.h"
#include "server_process.h"
#include "visitors.h"

/* One server for the whole test case, started in the parent before Check
 * forks each test: it saves a start and a stop per test. */
static struct server_process live_server;

/* Starts the test case's shared server; exits when it cannot, since
 * every test of the case would fail for the same reason. */
static void live_setup(void)
{
    const char *binary = required_environment("HI_SERVER");

    if (server_start(&live_server, binary, "0") != 0) {
        fprintf(stderr, "cannot start %s: %s\n", binary, start_failure(&live_server));
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
    int result = http_exchange(live_server.port, request_text, strlen(request_text), response);

    ck_assert_msg(result != -2, "cannot connect to port %d", live_server.port);
    ck_assert_msg(result == 0, "request %s: no well-formed response", quote(request_text));
}

/* ============================ Exact bytes ================================ */

START_TEST(test_live_welcome_bytes)
{
    static const char request_text[] = "GET /hi?color=red HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    static struct http_response response;
    char page[256];
    unsigned long visitor;

    exchange(request_text, &response);
    visitor = visitor_in_page(response.body, response.body_length, "red");
    ck_assert_msg(visitor > 0, "request %s: not a welcome page: %s", quote(request_text),
                  quote_bytes(response.raw, response.raw_length));
    expected_page(page, sizeof page, "red", visitor);
    assert_response_bytes(request_text, &response, "200 OK", "text/html; charset=utf-8", "",
                          page, "keep-alive");
}
END_TEST

START_TEST(test_live_error_bytes)
{
    static const char bad_color[] = "GET /hi?color=%3Cscript%3E HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char post[] = "POST /hi?color=red HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    static const char no_page[] = "GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n";
    static struct http_response response;

    exchange(bad_color, &response);
    assert_response_bytes(bad_color, &response, "400 Bad Request", "text/plain; charset=utf-8",
                          "", INVALID_BODY, "keep-alive");
    exchange(post, &response);
    assert_response_bytes(post, &response, "405 Method Not Allowed", "text/plain; charset=utf-8",
                          "Allow: GET\r\n", "405 method not allowed\n", "keep-alive");
    exchange(no_page, &response);
    assert_response_bytes(no_page, &response, "404 Not Found", "text/plain; charset=utf-8", "",
                          "404 page not found\n", "keep-alive");
}
END_TEST

/* ============================ Connections ================================ */

START_TEST(test_live_connection_close)
{
    static struct http_response response;
    char byte;
    int fd = http_connect(live_server.port);
    const char *request_text = "GET /hi?color=red HTTP/1.0\r\n\r\n";

    ck_assert_msg(fd >= 0, "cannot connect to port %d", live_server.port);
    ck_assert_msg(http_send(fd, request_text, strlen(request_text)) == 0 &&
                  http_read_response(fd, &response) == 0,
                  "request %s: no well-formed response", quote(request_text));
    ck_assert_msg(contains(response.raw, "\r\nConnection: close\r\n"),
                  "request %s: response %s, want Connection: close", quote(request_text),
                  quote(response.raw));
    ck_assert_msg(recv(fd, &byte, 1, 0) == 0,   /* and it did close */
                  "request %s: the connection stayed open after the response", quote(request_text));
    close(fd);
}
END_TEST

/* A response split over several writes, with Nagle's algorithm on, waits
 * for the client's delayed ACK: about 40 ms, on every keep-alive request.
 * That signature is what this counts; it is no speed target. An answer on
 * loopback takes well under 1 ms, so a response that took STALL_MS or
 * more is a stall. A split response stalls on nearly every request (199
 * of 200 for make nagle's server); a busy machine stalls a few. Half of
 * them, STALLS_MAX, tells the two apart. */
#define STALL_MS 30
#define STALLS_MAX 100

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

    ck_assert_msg(fd >= 0, "cannot connect to port %d", live_server.port);
    for (int i = 0; i < 200; i++) {
        unsigned long visitor;
        long long sent_ms = monotonic_ms();

        ck_assert_msg(http_send(fd, good, sizeof good - 1) == 0 &&
                      http_read_response(fd, &response) == 0,
                      "round %d, request %s: no well-formed response", i, quote(good));
        stalls += monotonic_ms() - sent_ms >= STALL_MS;
        visitor = visitor_in_page(response.body, response.body_length, "blue");
        ck_assert_msg(visitor > 0, "round %d, request %s: not a welcome page: %s", i, quote(good),
                      quote_bytes(response.raw, response.raw_length));
        if (previous != 0)
            ck_assert_msg(visitor == previous + 1, "round %d, request %s: visitor %lu, want %lu",
                          i, quote(good), visitor, previous + 1);
        previous = visitor;
        ck_assert_msg(http_send(fd, bad, sizeof bad - 1) == 0 &&
                      http_read_response(fd, &response) == 0,
                      "round %d, request %s: no well-formed response", i, quote(bad));
        ck_assert_msg(response.status == 400, "round %d, request %s: status %d, want 400", i,
                      quote(bad), response.status);
    }
    close(fd);
    ck_assert_msg(stalls < STALLS_MAX, "%d of 200 keep-alive responses took %d ms or more:"
                  " is the response leaving in several writes with Nagle on?", stalls, STALL_MS);
}
END_TEST

/* ============================ The hostile table ========================== */

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

/* The hostile table of check_contract.c again, through civetweb's parser
 * too. A failure names the row's query and the target it was sent as. */
START_TEST(test_live_invalid_color)
{
    static struct http_response response;
    const char *query = invalid_queries[_i];
    struct mismatch m = { .used = 0 };
    char target[512];

    escaped_target(target, sizeof target, query);
    ck_assert_msg(http_get(live_server.port, target, &response) == 0,
                  "query %s (GET %s): no well-formed response", quote(query), quote(target));
    mismatch_int(&m, "status", response.status, 400);
    mismatch_bytes(&m, "body", response.body, response.body_length,
                   INVALID_BODY, strlen(INVALID_BODY));
    ck_assert_msg(m.used == 0, "query %s (GET %s):%s", quote(query), quote(target), m.text);
}
END_TEST

/* ============================ Parallel clients =========================== */

/* Every client gets a correct page, in any stage; in a race-free one, the
 * numbers are a contiguous block, each exactly once. */
START_TEST(test_live_parallel_clients)
{
    static unsigned long numbers[8 * 250];
    struct numbering result;
    char line[160];

    ck_assert_msg(fetch_in_parallel(live_server.port, 8, 250, numbers) == 0,
                  "8 clients x 250 requests: the clients could not run");
    check_numbering(numbers, 8 * 250, &result);
    ck_assert_msg(result.invalid == 0, "8 clients x 250 requests of GET /hi?color=red: %zu"
                  " responses were not a welcome page (%s)", result.invalid,
                  describe_numbering(&result, line, sizeof line));
    /* Earlier tests used this server, so the block may start anywhere. */
    if (unit_race_free)
        ck_assert_msg(numbering_exact(&result, result.lowest),
                      "8 clients x 250 requests: %s, want 2000 consecutive visitors each once",
                      describe_numbering(&result, line, sizeof line));
}
END_TEST

/* Returns the "live" test case. */
TCase *live_tcase(void)
{
    TCase *tc = tcase_create("live");

    tcase_add_unchecked_fixture(tc, live_setup, live_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_live_welcome_bytes);
    tcase_add_test(tc, test_live_error_bytes);
    tcase_add_test(tc, test_live_connection_close);
    tcase_add_test(tc, test_live_keep_alive_sequence);
    tcase_add_loop_test(tc, test_live_invalid_color, 0, invalid_query_count);
    tcase_add_test(tc, test_live_parallel_clients);
    return tc;
}
