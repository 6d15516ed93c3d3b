/*
 * check_process.c - the server as a process: how it starts and stops.
 *
 * PORT=0 picks a free port and prints it; SIGINT and SIGTERM stop the
 * server with exit status 0, within half a second even while a
 * keep-alive client sits idle; a busy port is exit status 1 with a
 * message that names it; a PORT that is not a port is exit status 2.
 * Each test starts its own servers from $HI_SERVER.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_suite.h"
#include "http_client.h"
#include "server_process.h"

/* The signals that must stop the server cleanly, with their names. */
static const struct { int number; const char *name; } stop_signals[] = {
    { SIGTERM, "SIGTERM" },
    { SIGINT, "SIGINT" },
};

/* ============================ Starting and stopping ====================== */

START_TEST(test_port_zero_and_clean_stops)
{
    const char *binary = required_environment("HI_SERVER");
    static struct http_response response;
    struct server_process server;

    for (int i = 0; i < COUNT(stop_signals); i++) {
        int status;

        ck_assert_msg(server_start(&server, binary, "0") == 0,
                      "PORT=0: no listening line, got \"%s\"", server.first_line);
        ck_assert_int_gt(server.port, 0);
        ck_assert_int_eq(http_get(server.port, "/hi?color=red", &response), 0);
        assert_response_bytes("GET /hi?color=red", &response, "200 OK",
                              "text/html; charset=utf-8", "",
                              "<h1 style='color: red'>Welcome!</h1>You are visitor number 1!",
                              "keep-alive");
        status = server_stop(&server, stop_signals[i].number);
        ck_assert_msg(status == 0, "%s: exit status %d, want 0", stop_signals[i].name, status);
        unlink(server.stderr_path);
    }
}
END_TEST

/* How long a stop may take with an idle client: the server aims at half
 * a second (its 400 ms timeouts and the thread that knocks on its
 * listening socket, in common/server.c). The bound leaves room for a busy
 * machine and still catches civetweb's 2-second waits, which a stop
 * without those settles into. */
#define STOP_MS_MAX 750

/* The idle clients a stop must not hang on: one that made a keep-alive
 * request and waits for its next, and one that connected and never sent
 * a byte. Each with both stop signals. */
static const struct {
    int signal_number;
    const char *name;
    int sends_a_request;
} idle_clients[] = {
    { SIGTERM, "SIGTERM, a keep-alive client idle after one request", 1 },
    { SIGINT, "SIGINT, a keep-alive client idle after one request", 1 },
    { SIGTERM, "SIGTERM, a client connected that never sent a byte", 0 },
    { SIGINT, "SIGINT, a client connected that never sent a byte", 0 },
};

/* A stop with an idle client: it holds a worker thread in civetweb's
 * wait for its request. Timed from the signal to the exit. */
START_TEST(test_stop_with_idle_client)
{
    static const char request_text[] = "GET /hi?color=red HTTP/1.1\r\nHost: x\r\n\r\n";
    static struct http_response response;
    const char *name = idle_clients[_i].name;
    struct server_process server;
    long long started_ms, stop_ms;
    int fd, status;

    ck_assert_msg(server_start(&server, required_environment("HI_SERVER"), "0") == 0,
                  "no listening line, got \"%s\"", server.first_line);
    fd = http_connect(server.port);
    ck_assert_msg(fd >= 0, "cannot connect to port %d", server.port);
    if (idle_clients[_i].sends_a_request) {
        ck_assert_int_eq(http_send(fd, request_text, sizeof request_text - 1), 0);
        ck_assert_int_eq(http_read_response(fd, &response), 0);
        ck_assert_msg(contains(response.raw, "\r\nConnection: keep-alive\r\n"),
                      "not a keep-alive response: %s", quote(response.raw));
    }

    started_ms = monotonic_ms();   /* the connection stays open, idle */
    status = server_stop(&server, idle_clients[_i].signal_number);
    stop_ms = monotonic_ms() - started_ms;
    close(fd);
    unlink(server.stderr_path);
    ck_assert_msg(status == 0, "%s: exit status %d after %lld ms, want 0", name, status, stop_ms);
    ck_assert_msg(stop_ms < STOP_MS_MAX, "%s: the server took %lld ms to exit, want less"
                  " than %d ms", name, stop_ms, STOP_MS_MAX);
}
END_TEST

/* ============================ Refusing to start ========================== */

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
    const char *port = bad_ports[_i];
    struct server_process server;
    char *message;
    int started = server_start(&server, required_environment("HI_SERVER"), port);

    ck_assert_msg(started == -1, "PORT=%s: it started (%s), want exit status 2",
                  quote(port), quote(server.first_line));
    ck_assert_msg(server.exit_status == 2, "PORT=%s: exit status %d, want 2",
                  quote(port), server.exit_status);
    message = server_stderr(&server);
    ck_assert_msg(contains(message, "PORT must be a number"),
                  "PORT=%s: stderr %s, want it to say \"PORT must be a number\"",
                  quote(port), quote(message));
    free(message);
    unlink(server.stderr_path);
}
END_TEST

/* Returns the "process" test case. */
TCase *process_tcase(void)
{
    TCase *tc = tcase_create("process");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_port_zero_and_clean_stops);
    tcase_add_loop_test(tc, test_stop_with_idle_client, 0, COUNT(idle_clients));
    tcase_add_test(tc, test_busy_port_is_an_error);
    tcase_add_loop_test(tc, test_bad_port_is_an_error, 0, COUNT(bad_ports));
    return tc;
}
