/*
 * recorder.h - a response writer that keeps the response in memory.
 *
 * The C counterpart of Go's httptest.ResponseRecorder: the tests, the
 * benchmarks and the profiles call a stage's handler with one, so they
 * need no socket. The contracts are in recorder.c.
 */
#ifndef RECORDER_H
#define RECORDER_H

#include "response.h"

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

void recorder_init(struct recorder *r);
void recorder_reset(struct recorder *r);

#endif
