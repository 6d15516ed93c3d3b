/*
 * response.c - helpers shared by every response writer and handler.
 */
#include <string.h>

#include "response.h"

/* Returns the standard reason phrase for status ("OK", "Not Found"...),
 * for the few statuses this server uses. */
const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    default:  return "Unknown";
    }
}

/* Sends a plain-text error to writer: the body is message plus a newline,
 * as Go's http.Error writes it; extra_headers may be NULL. Returns what
 * the writer's send returns. Error bodies are short constant strings, so
 * the message and its newline are joined in a stack buffer: the error
 * path never allocates either. */
int respond_error(struct response_writer *writer, int status,
                  const char *message, const char *extra_headers)
{
    char body[128];
    size_t length = strlen(message);

    if (length + 1 > sizeof body)
        length = sizeof body - 1;
    memcpy(body, message, length);
    body[length++] = '\n';

    struct response response = {
        .status = status,
        .content_type = "text/plain; charset=utf-8",
        .extra_headers = extra_headers,
        .body = body,
        .body_length = length,
    };
    return writer->send(writer, &response);
}
