/*
 * query.h - reading the color parameter out of a raw query string.
 */
#ifndef QUERY_H
#define QUERY_H

#include <stddef.h>

/* The longest color the contract accepts, in bytes after URL-decoding. */
#define COLOR_MAX 64

/* The color parameter, URL-decoded (query.c says exactly how). */
int query_color(const char *query, char *out, size_t size);

#endif
