/*
 * visitors.h - helpers for checking visitor numbers, serial and parallel.
 *
 * The contract of each function is in visitors.c, next to its code.
 */
#ifndef VISITORS_H
#define VISITORS_H

#include <stddef.h>

int expected_page(char *page, size_t size, const char *color, unsigned long visitor);
unsigned long visitor_in_page(const char *body, size_t length, const char *color);

/* How a list of visitor numbers differs from first, first+1, ... */
struct numbering {
    size_t count;
    size_t duplicates;   /* numbers seen more than once */
    size_t missing;      /* numbers in the range never seen */
    size_t invalid;      /* responses that were not a welcome page */
    unsigned long lowest, highest;
};

void check_numbering(const unsigned long *numbers, size_t count, struct numbering *result);
int numbering_exact(const struct numbering *result, unsigned long first);
const char *describe_numbering(const struct numbering *result, char *text, size_t size);
int handle_in_parallel(int threads, int requests, unsigned long *numbers);
int fetch_in_parallel(int port, int clients, int requests, unsigned long *numbers);

#endif
