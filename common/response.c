/*
 * response.c - helpers shared by every response writer and handler.
 */
#include <string.h>

#include "response.h"

/* Returns the reason phrase for the few statuses this server uses. */
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

/* Error bodies are short constant strings. The message and its newline are
 * joined in a stack buffer so the error path never allocates either. */
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
