/*
 * query.c - a strict decoder for the color parameter of a query string.
 *
 * civetweb has mg_get_var(), but it matches names case-insensitively
 * ("COLOR=red" would count as color) and quietly passes a bad escape
 * like "%zz" through. The contract wants exact names and a 400 for
 * malformed input, so the decoder is written out here. Every stage runs
 * it on every request, so it makes one pass over the query and copies
 * nothing but the value.
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

/* Decodes the form-encoded byte at *at ('+' is a space, "%XX" a byte),
 * where the text ends at end, into *byte, and moves *at past it. Returns
 * 0, or -1 on a bad or cut-off escape. */
static int decode_byte(const char **at, const char *end, char *byte)
{
    const char *c = *at;
    int high, low;

    if (*c != '%') {
        *byte = *c == '+' ? ' ' : *c;
        *at = c + 1;
        return 0;
    }
    if (end - c < 3 || (high = hex_value(c[1])) < 0 || (low = hex_value(c[2])) < 0)
        return -1;
    *byte = (char)(high * 16 + low);
    *at = c + 3;
    return 0;
}

/* Returns 1 when the form-encoded name [name, end) decodes to exactly
 * "color" (so "c%6flor" counts, "COLOR" and "colour" do not), else 0.
 * escaped says the name holds a '%' or '+'; without one it is compared
 * as it stands, which is most of the time and costs a few instructions. */
static int is_color_name(const char *name, const char *end, int escaped)
{
    static const char color[] = "color";
    size_t matched = 0;
    char byte;

    if (!escaped)
        return end - name == sizeof color - 1 && memcmp(name, color, sizeof color - 1) == 0;
    while (name < end) {
        if (decode_byte(&name, end, &byte) != 0 || matched == sizeof color - 1 ||
            byte != color[matched])
            return 0;
        matched++;
    }
    return matched == sizeof color - 1;
}

/* Decodes the form-encoded value [value, end) into out, which holds size
 * bytes, and NUL-terminates it; escaped says as for is_color_name(), and
 * without escapes the value is copied as it stands. Returns the decoded
 * length, or -1 on a bad escape or when it does not fit. */
static int decode_value(const char *value, const char *end, int escaped, char *out, size_t size)
{
    size_t used = 0;

    if (!escaped) {
        used = (size_t)(end - value);
        if (used + 1 > size)
            return -1;
        memcpy(out, value, used);
    }
    while (escaped && value < end) {
        if (used + 1 >= size || decode_byte(&value, end, &out[used]) != 0)
            return -1;
        used++;
    }
    out[used] = '\0';
    return (int)used;
}

/* What a byte means to scan(). Every byte not listed is plain: itself. */
enum { ENDS_VALUE = 1, ENDS_NAME = 2, ESCAPE = 4 };
static const unsigned char byte_kind[256] = {
    ['\0'] = ENDS_NAME | ENDS_VALUE, ['&'] = ENDS_NAME | ENDS_VALUE,
    ['='] = ENDS_NAME, ['%'] = ESCAPE, ['+'] = ESCAPE,
};

/* Returns where a name (ends is ENDS_NAME) or a value (ENDS_VALUE) that
 * starts at text stops, and sets *escaped when a '%' or '+' comes before
 * that. Plain bytes cost one table lookup each. */
static const char *scan(const char *text, int ends, int *escaped)
{
    for (;; text++) {
        while (byte_kind[(unsigned char)*text] == 0)
            text++;
        if (byte_kind[(unsigned char)*text] & ends)
            return text;
        if (byte_kind[(unsigned char)*text] & ESCAPE)
            *escaped = 1;
    }
}

/* ============================ The color parameter ======================== */

/* Finds the first "color" parameter of query (the raw text after '?', or
 * NULL) and URL-decodes it into out, which holds size bytes. Returns the
 * decoded length (0 when there is no color parameter), or -1 when the
 * value is malformed or longer than COLOR_MAX or than out. The decoded
 * bytes may contain NUL, so callers must use the length. */
int query_color(const char *query, char *out, size_t size)
{
    size_t limit = size < COLOR_MAX + 1 ? size : COLOR_MAX + 1;

    if (size == 0)
        return -1;
    out[0] = '\0';
    if (query == NULL)
        return 0;

    /* One pass over the '&'-separated pairs: each one's name, up to its
     * '=', then its value. */
    for (const char *pair = query;; pair++) {
        int name_escaped = 0, value_escaped = 0;
        const char *name_end = scan(pair, ENDS_NAME, &name_escaped);
        const char *value = *name_end == '=' ? name_end + 1 : name_end;
        const char *end = scan(value, ENDS_VALUE, &value_escaped);

        if (is_color_name(pair, name_end, name_escaped))
            return decode_value(value, end, value_escaped, out, limit);
        if (*end == '\0')
            return 0;
        pair = end;   /* the loop steps over the '&' */
    }
}
