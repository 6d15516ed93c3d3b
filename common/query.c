/*
 * query.c - a strict decoder for application/x-www-form-urlencoded pairs.
 *
 * civetweb has mg_get_var(), but it matches names case-insensitively
 * ("COLOR=red" would count as color) and quietly passes a bad escape
 * like "%zz" through. The contract wants exact names and a 400 for
 * malformed input, so the twenty lines are written out here.
 */
#include <string.h>

#include "query.h"

/* ============================ URL decoding =============================== */

/* Returns the value 0..15 of one hexadecimal digit, or -1. */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes src[0..length) ('+' is a space, %XX a byte) into out of size
 * bytes and NUL-terminates it. Returns the decoded length, or -1 on a bad
 * escape or when the result does not fit. */
static int url_decode(const char *src, size_t length, char *out, size_t size)
{
    size_t used = 0;

    for (size_t i = 0; i < length; i++) {
        char c = src[i];

        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int high, low;

            if (i + 2 >= length)        /* "%" or "%X" at the very end */
                return -1;
            high = hex_value(src[i + 1]);
            low = hex_value(src[i + 2]);
            if (high < 0 || low < 0)
                return -1;
            c = (char)(high * 16 + low);
            i += 2;
        }
        if (used + 1 >= size)
            return -1;
        out[used++] = c;
    }
    out[used] = '\0';
    return (int)used;
}

/* ============================ The color parameter ======================== */

/* See query.h. Returns the decoded length of the first color parameter,
 * 0 when there is none, or -1 when it is malformed or too long. */
int query_color(const char *query, char *out, size_t size)
{
    static const char name[] = "color";
    char decoded_name[sizeof name];

    if (size == 0)
        return -1;
    out[0] = '\0';
    if (query == NULL)
        return 0;

    /* Walk the '&'-separated pairs; names may be escaped too ("c%6flor"). */
    for (const char *pair = query; *pair != '\0';) {
        size_t pair_length = strcspn(pair, "&");
        const char *equals = memchr(pair, '=', pair_length);
        size_t name_length = equals ? (size_t)(equals - pair) : pair_length;

        int decoded_length = url_decode(pair, name_length, decoded_name,
                                        sizeof decoded_name);

        if (decoded_length == (int)sizeof name - 1 &&
            memcmp(decoded_name, name, sizeof name - 1) == 0) {
            const char *value = equals ? equals + 1 : pair + pair_length;
            size_t value_length = (size_t)(pair + pair_length - value);
            size_t limit = size < COLOR_MAX + 1 ? size : COLOR_MAX + 1;

            return url_decode(value, value_length, out, limit);
        }
        pair += pair_length;
        if (*pair == '&')
            pair++;
    }
    return 0;
}
