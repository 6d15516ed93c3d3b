/*
 * check_process.c - the server as a process: how it starts and stops.
 *
 * PORT=0 picks a free port and prints it; SIGINT and SIGTERM stop the
 * server with exit status 0, without civetweb's 2-second waits (under
 * STOP_MS_MAX), even while a keep-alive client sits idle; a busy port is exit status 1 with a
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
#include "visitors.h"

/* ============================ Starting and stopping ====================== */

/* How long a stop may take with an idle client: the server aims at half
 * a second (its 400 ms timeouts and the thread that knocks on its
 * listening socket, in common/server.c). A stop without those settles
 * into civetweb's 2-second waits, every time: the bound catches that,
 * and a hang (server_stop gives up after 20 s). A busy machine can make
 * one stop slow too (2,064 ms was seen once, with both CPUs loaded by
 * other work), rarely three in a row: the test takes the fastest of up
 * to STOP_TRIES. It cannot catch a stop that waits only now and then. */
#define STOP_MS_MAX 1800
#define STOP_TRIES 3

/* Who is connected when the stop comes: nobody (the one client made a
 * request and left), or an idle client the stop must not hang on: one
 * that made a keep-alive request and waits for its next, or one that
 * connected and never sent a byte. Each with both stop signals. */
enum client { CLIENT_LEFT, CLIENT_KEEP_ALIVE, CLIENT_SILENT };

static const struct {
    int signal_number;
    const char *name;
    enum client client;
} stops[] = {
    { SIGTERM, "SIGTERM, after a client's request and its leaving", CLIENT_LEFT },
    { SIGINT, "SIGINT, after a client's request and its leaving", CLIENT_LEFT },
    { SIGTERM, "SIGTERM, a keep-alive client idle after one request", CLIENT_KEEP_ALIVE },
    { SIGINT, "SIGINT, a keep-alive client idle after one request", CLIENT_KEEP_ALIVE },
    { SIGTERM, "SIGTERM, a client connected that never sent a byte", CLIENT_SILENT },
    { SIGINT, "SIGINT, a client connected that never sent a byte", CLIENT_SILENT },
};

/* Returns how long (ms) a server on PORT=0 (a free port, which it
 * prints) took to stop, from the signal to its exit, after its first
 * request was answered as the contract says, and with the client of
 * stops[which] still connected or gone. Fails the test if the server did
 * not start, answered wrongly or exited with a status other than 0. */
static long long start_answer_stop(int which)
{
    static const char request_text[] = "GET /hi?color=red HTTP/1.1\r\nHost: x\r\n\r\n";
    static struct http_response response;
    const char *name = stops[which].name;
    char page[256];
    struct server_process server;
    long long started_ms, stop_ms;
    int fd, status;

    start_server(&server, "HI_SERVER");
    ck_assert_msg(server.port > 0, "%s: the server started with PORT=0 but reported port %d",
                  name, server.port);
    fd = http_connect(server.port);
    ck_assert_msg(fd >= 0, "cannot connect to port %d", server.port);
    if (stops[which].client != CLIENT_SILENT) {
        ck_assert_msg(http_send(fd, request_text, sizeof request_text - 1) == 0 &&
                      http_read_response(fd, &response) == 0,
                      "%s: request %s: no well-formed response", name, quote(request_text));
        expected_page(page, sizeof page, "red", 1);
        assert_response_bytes(request_text, &response, "200 OK", "text/html; charset=utf-8", "",
                              page, "keep-alive");
    }
    if (stops[which].client == CLIENT_LEFT) {
        close(fd);
        fd = -1;
    }

    started_ms = monotonic_ms();   /* any connection left stays open, idle */
    status = server_stop(&server, stops[which].signal_number);
    stop_ms = monotonic_ms() - started_ms;
    if (fd >= 0)
        close(fd);
    unlink(server.stderr_path);
    ck_assert_msg(status == 0, "%s: exit status %d after %lld ms, want 0", name, status, stop_ms);
    return stop_ms;
}

/* Each stop of stops[]: exit status 0, and in time even with an idle
 * client holding a worker thread in civetweb's wait for its request. */
START_TEST(test_port_zero_and_stop)
{
    long long fastest_ms = -1;

    for (int try = 0; try < STOP_TRIES && (fastest_ms < 0 || fastest_ms >= STOP_MS_MAX); try++) {
        long long stop_ms = start_answer_stop(_i);
        if (fastest_ms < 0 || stop_ms < fastest_ms)
            fastest_ms = stop_ms;
    }
    ck_assert_msg(fastest_ms < STOP_MS_MAX, "too slow a stop,\n    %s:\n    %lld ms, the fastest"
                  " of %d tries; want under %d ms", stops[_i].name, fastest_ms, STOP_TRIES, STOP_MS_MAX);
}
END_TEST

/* ============================ Refusing to start ========================== */

START_TEST(test_busy_port_is_an_error)
{
    const char *binary = required_environment("HI_SERVER");
    struct server_process first, second;
    char port_text[16], expected[64];
    char *message;

    start_server(&first, "HI_SERVER");
    snprintf(port_text, sizeof port_text, "%d", first.port);
    ck_assert_msg(server_start(&second, binary, port_text) == -1,
                  "a second server on the busy port %s started; want it to refuse", port_text);
    ck_assert_msg(second.exit_status == 1, "a second server on the busy port %s: exit status %d,"
                  " want 1", port_text, second.exit_status);
    message = server_stderr(&second);
    snprintf(expected, sizeof expected, "cannot listen on 127.0.0.1:%d", first.port);
    ck_assert_msg(contains(message, expected), "stderr was: %s", message);
    free(message);
    ck_assert_msg(server_stop(&first, SIGTERM) == 0, "the first server, on port %s, did not"
                  " exit 0 on SIGTERM after the second was refused", port_text);
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
    tcase_add_loop_test(tc, test_port_zero_and_stop, 0, COUNT(stops));
    tcase_add_test(tc, test_busy_port_is_an_error);
    tcase_add_loop_test(tc, test_bad_port_is_an_error, 0, COUNT(bad_ports));
    return tc;
}
