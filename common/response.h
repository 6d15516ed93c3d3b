/*
 * response.h - the response-writer interface every handler writes to.
 *
 * A handler never talks to a socket directly. It fills in one struct
 * response and hands it to a struct response_writer. Two writers exist:
 *
 *   civet_writer (civet_writer.c)    sends the response over a civetweb
 *                                    connection, in a single write (but
 *                                    in make nagle's demonstration).
 *   recorder (tests/recorder.c)      keeps it in memory, like Go's
 *                                    httptest.ResponseRecorder, so tests,
 *                                    benchmarks and profiles can call the
 *                                    very same handler without a socket.
 */
#ifndef RESPONSE_H
#define RESPONSE_H

#include <stddef.h>

/* One complete HTTP response. Content-Length is always body_length. */
struct response {
    int status;                 /* 200, 400, 404, 405, 500 */
    const char *content_type;   /* e.g. "text/html; charset=utf-8" */
    const char *extra_headers;  /* whole "Name: value\r\n" lines, or NULL */
    const char *body;           /* body_length bytes, need not end in NUL */
    size_t body_length;
};

/* A place a response can be sent to. Implementations embed this struct as
 * their first member, so a pointer to it is a pointer to them. */
struct response_writer {
    /* Returns 0 once the whole response is delivered, -1 otherwise. */
    int (*send)(struct response_writer *writer, const struct response *response);
};

/* ============================ Helpers (response.c) ======================= */

int respond_error(struct response_writer *writer, int status,
                  const char *message, const char *extra_headers);
const char *status_text(int status);

#endif
