/*
 * response.h - the response-writer interface every handler writes to.
 *
 * A handler never talks to a socket directly. It fills in one struct
 * response and hands it to a struct response_writer. Two writers exist:
 *
 *   civet_writer (civet_writer.c)  sends the response over a civetweb
 *                                  connection, in a single write.
 *   recorder     (recorder.c)      keeps it in memory, like Go's
 *                                  httptest.ResponseRecorder, so tests,
 *                                  benchmarks and profiles can call the
 *                                  very same handler without a socket.
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

/* ============================ Helpers ==================================== */

/* Sends a plain-text error: body is message plus a newline, as Go's
 * http.Error writes it. extra_headers may be NULL. Returns what send does. */
int respond_error(struct response_writer *writer, int status,
                  const char *message, const char *extra_headers);

/* Returns the standard reason phrase for status ("OK", "Not Found"...). */
const char *status_text(int status);

/* ============================ The recorder =============================== */

#define RECORDER_HEADERS_MAX 256
#define RECORDER_BODY_MAX 4096

/* An in-memory writer. Its buffers are fixed arrays, so one recorder can be
 * reset and reused millions of times in a benchmark without allocating. */
struct recorder {
    struct response_writer writer;  /* must stay first */
    int responses;                  /* send calls since the last reset */
    int status;
    char content_type[RECORDER_HEADERS_MAX];
    char extra_headers[RECORDER_HEADERS_MAX];
    char body[RECORDER_BODY_MAX + 1];  /* body_length bytes, then a NUL */
    size_t body_length;
};

/* Prepares r for its first use. */
void recorder_init(struct recorder *r);

/* Forgets the last response so r can record the next one. */
void recorder_reset(struct recorder *r);

#endif
