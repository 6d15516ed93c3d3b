/*
 * server.c - the HTTP server around a stage's handler.
 *
 * Every stage links this same file: it starts civetweb on 127.0.0.1,
 * sends each request through route_request(), and stops cleanly on
 * SIGINT or SIGTERM. Environment:
 *
 *   PORT=8080        the port to listen on; 0 lets the kernel pick a free one.
 *   HOST=127.0.0.1   the IPv4 address to listen on. Inside a container,
 *                    `make run` sets 0.0.0.0: a server on the container's
 *                    own loopback cannot be reached from the host.
 *
 * Exit status: 0 after a signal, 1 when the server cannot start (a busy
 * port, say), 2 for a bad PORT or HOST.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>

#include "civet_writer.h"
#include "hi.h"
#include "router.h"

#define DEFAULT_PORT 8080
#define DEFAULT_HOST "127.0.0.1"

/* ============================ Configuration ============================== */

/* Returns the port named by $PORT, DEFAULT_PORT when it is unset, or -1
 * when it is not a whole number from 0 to 65535. */
static long port_from_environment(void)
{
    const char *text = getenv("PORT");
    char *end;
    long port;

    if (text == NULL || *text == '\0')
        return DEFAULT_PORT;
    errno = 0;
    port = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || port < 0 || port > 65535)
        return -1;
    return port;
}

/* Returns the address named by $HOST, DEFAULT_HOST when it is unset, or
 * NULL when it is not an IPv4 address in dotted form. */
static const char *host_from_environment(void)
{
    const char *text = getenv("HOST");
    struct in_addr address;

    if (text == NULL || *text == '\0')
        return DEFAULT_HOST;
    return inet_pton(AF_INET, text, &address) == 1 ? text : NULL;
}

/* ============================ Requests =================================== */

/* civetweb calls this on one of its worker threads for every request.
 * Returns the status sent, which civetweb only uses for its log. */
static int handle_request(struct mg_connection *connection, void *unused)
{
    const struct mg_request_info *info = mg_get_request_info(connection);
    struct civet_writer writer;

    (void)unused;
    civet_writer_init(&writer, connection);
    route_request(&writer.writer, info->request_method, info->local_uri,
                  info->query_string);
    return writer.status ? writer.status : 500;
}

/* Prints civetweb's own error messages, which are otherwise lost.
 * Returns 1 to tell civetweb the message was handled. */
static int log_message(const struct mg_connection *connection, const char *message)
{
    (void)connection;
    fprintf(stderr, "civetweb: %s\n", message);
    return 1;
}

/* ============================ Start and stop ============================= */

/* Starts civetweb on host:port. Returns the context, or NULL after
 * printing why it could not start (most often: the port is taken). */
static struct mg_context *start_server(const char *host, long port)
{
    char listen_on[32];
    char error_text[256] = "";
    struct mg_callbacks callbacks = { .log_message = log_message };
    struct mg_error_data error = { .text = error_text, .text_buffer_size = sizeof error_text };
    const char *options[] = {
        "listening_ports", listen_on,
        "num_threads", "64",          /* enough for wrk -c50 plus a few */
        "enable_keep_alive", "yes",
        /* A worker waiting on an idle connection sees a stop only when
         * these run out: for the next request on a keep-alive connection,
         * and for the first on a new one. Short, so that Ctrl-C stops the
         * server within half a second; a request of this endpoint fits
         * in one packet. */
        "keep_alive_timeout_ms", "400",
        "request_timeout_ms", "400",
        "tcp_nodelay", NAGLE_DEMO ? "0" : "1",   /* see civet_writer.c */
        NULL,
    };
    struct mg_init_data init = { .callbacks = &callbacks, .configuration_options = options };
    struct mg_context *context;

#if CIVETWEB_VERSION_MAJOR == 1 && CIVETWEB_VERSION_MINOR < 16
    /* civetweb 1.15 writes the error code through a pointer; from 1.16
     * on, the struct holds the number itself. */
    unsigned error_code = 0;
    error.code = &error_code;
#endif
    snprintf(listen_on, sizeof listen_on, "%s:%ld", host, port);
    context = mg_start2(&init, &error);
    if (context == NULL) {
        fprintf(stderr, "hi: cannot listen on %s:%ld: %s "
                "(is another server on that port? PORT=0 picks a free one)\n",
                host, port, error_text[0] ? error_text : "civetweb gave no reason");
        return NULL;
    }
    mg_set_request_handler(context, "/", handle_request, NULL);
    return context;
}

/* Returns the port civetweb really listens on (PORT=0 asks the kernel to
 * choose), or -1 if it cannot tell. */
static int listening_port(struct mg_context *context)
{
    struct mg_server_port ports[4];
    int count = mg_get_server_ports(context, 4, ports);

    return count > 0 ? ports[0].port : -1;
}

/* ============================ A quick stop =============================== */

/* mg_stop() sets a flag and waits for civetweb's threads to see it. Its
 * accept loop polls the listening socket with a 2-second timeout that no
 * option changes (SOCKET_TIMEOUT_QUANTUM, fixed when Debian built it), so
 * alone it takes up to 2 s to notice. A connection wakes that poll at
 * once: while mg_stop() waits, this thread knocks every 20 ms. */
struct knocker {
    pthread_t thread;
    int port;
    atomic_int done;
};

/* Thread body: connects to the port and hangs up, until done. Returns NULL. */
static void *knock_until_stopped(void *argument)
{
    struct knocker *knocker = argument;
    struct sockaddr_in address = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)knocker->port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };

    while (!atomic_load(&knocker->done)) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        if (fd >= 0) {
            connect(fd, (struct sockaddr *)&address, sizeof address);
            close(fd);
        }
        nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
    }
    return NULL;
}

/* Stops civetweb, knocking while it waits. Returns when every civetweb
 * thread has finished: at most about 0.4 s with an idle client (see the
 * timeouts in start_server()), at once with none. */
static void stop_server(struct mg_context *context)
{
    struct knocker knocker = { .port = listening_port(context) };
    int knocking = knocker.port > 0 &&
                   pthread_create(&knocker.thread, NULL, knock_until_stopped, &knocker) == 0;

    mg_stop(context);
    if (knocking) {
        atomic_store(&knocker.done, 1);
        pthread_join(knocker.thread, NULL);
    }
}

/* ============================ Main ======================================= */

/* Starts civetweb on $HOST:$PORT with this stage's handler and waits for
 * SIGINT or SIGTERM. Returns 0 after a clean stop, 1 when the server
 * could not start (a busy port), 2 for a bad PORT or HOST. */
int main(void)
{
    long port = port_from_environment();
    const char *host = host_from_environment();
    struct mg_context *context = NULL;
    sigset_t stop_signals;
    int signal_number = 0;
    int status = 1;

    if (port < 0) {
        fprintf(stderr, "hi: PORT must be a number from 0 to 65535, not \"%s\"\n",
                getenv("PORT"));
        return 2;
    }
    if (host == NULL) {
        fprintf(stderr, "hi: HOST must be an IPv4 address such as 127.0.0.1 or 0.0.0.0, not \"%s\"\n",
                getenv("HOST"));
        return 2;
    }

    /* Block the stop signals before civetweb starts its threads, so they
     * inherit the mask and the signal always reaches sigwait() below. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    if (hi_init() != 0)
        return 1;
    mg_init_library(0);
    context = start_server(host, port);
    if (context == NULL)
        goto cleanup;

    printf("listening on http://%s:%d/hi\n", host, listening_port(context));
    fflush(stdout);

    while (sigwait(&stop_signals, &signal_number) != 0)
        ;
    fprintf(stderr, "hi: %s, stopping\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    status = 0;

cleanup:
    if (context != NULL)
        stop_server(context);
    mg_exit_library();
    hi_shutdown();
    return status;
}
