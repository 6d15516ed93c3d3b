/*
 * query.h - reading the color parameter out of a raw query string.
 */
#ifndef QUERY_H
#define QUERY_H

#include <stddef.h>

/* The longest color the contract accepts, in bytes after URL-decoding. */
#define COLOR_MAX 64

/* Finds the first "color" parameter of query (the raw text after '?', or
 * NULL) and URL-decodes it into out, which holds size bytes.
 * Returns the decoded length (0 when there is no color parameter), or -1
 * when the value is malformed or longer than COLOR_MAX or than out. The
 * decoded bytes may contain NUL, so callers must use the length. */
int query_color(const char *query, char *out, size_t size);

#endif
