/*
 * recorder.c - a response writer that keeps the response in memory.
 *
 * This is the C counterpart of Go's httptest.ResponseRecorder. Tests read
 * the fields; benchmarks reset and reuse one recorder, which never
 * allocates, so any allocation a benchmark counts belongs to the handler.
 */
#include <string.h>

#include "recorder.h"

/* Copies the string s (or "" for NULL) into a fixed field. Returns 0, or
 * -1 when it had to be cut to fit. */
static int copy_field(char *field, size_t size, const char *s)
{
    size_t length = s ? strlen(s) : 0;
    int cut = length >= size;

    if (cut)
        length = size - 1;
    memcpy(field, s ? s : "", length);
    field[length] = '\0';
    return cut ? -1 : 0;
}

/* The send method. Returns -1 if anything was cut, so a handler producing
 * an oversized response is caught rather than silently truncated. */
static int recorder_send(struct response_writer *writer,
                         const struct response *response)
{
    struct recorder *r = (struct recorder *)writer;
    size_t length = response->body_length;
    int result = 0;

    r->responses++;
    r->status = response->status;
    result |= copy_field(r->content_type, sizeof r->content_type,
                         response->content_type);
    result |= copy_field(r->extra_headers, sizeof r->extra_headers,
                         response->extra_headers);
    if (length > RECORDER_BODY_MAX) {
        length = RECORDER_BODY_MAX;
        result = -1;
    }
    memcpy(r->body, response->body, length);
    r->body[length] = '\0';
    r->body_length = length;
    return result;
}

/* Prepares r for its first use; recorder_reset() then readies it for
 * each next response without allocating. */
void recorder_init(struct recorder *r)
{
    r->writer.send = recorder_send;
    recorder_reset(r);
}

/* Forgets the last response so r can record the next one. Only the
 * fields a test reads are cleared: clearing the 4 KB body on every
 * benchmark iteration would cost more than the handler itself. */
void recorder_reset(struct recorder *r)
{
    r->responses = 0;
    r->status = 0;
    r->content_type[0] = '\0';
    r->extra_headers[0] = '\0';
    r->body[0] = '\0';
    r->body_length = 0;
}
