/*
 * visitors.h - helpers for checking visitor numbers, serial and parallel.
 */
#ifndef VISITORS_H
#define VISITORS_H

#include <stddef.h>

/* The exact 200 body the contract requires for color and visitor. Returns
 * its length, writing at most size bytes into page. */
int expected_page(char *page, size_t size, const char *color, unsigned long visitor);

/* Returns the visitor number in a welcome page, or 0 when body (length
 * bytes) is not exactly a welcome page for color. */
unsigned long visitor_in_page(const char *body, size_t length, const char *color);

/* How a list of visitor numbers differs from first, first+1, ... */
struct numbering {
    size_t count;
    size_t duplicates;   /* numbers seen more than once */
    size_t missing;      /* numbers in the range never seen */
    size_t invalid;      /* responses that were not a welcome page */
    unsigned long lowest, highest;
};

/* Summarizes count numbers (0 marks a bad response) into result. */
void check_numbering(const unsigned long *numbers, size_t count, struct numbering *result);

/* Calls the linked stage's hi_handle() from threads threads at once,
 * requests times each, with color=red, through one recorder per thread.
 * Stores every visitor number (0 for a bad response) in numbers, which
 * holds threads * requests. Returns 0, or -1 if threads could not start. */
int handle_in_parallel(int threads, int requests, unsigned long *numbers);

/* The same through a live server on port: clients keep-alive connections
 * at once, requests GETs each. Returns 0, or -1 if a connection failed. */
int fetch_in_parallel(int port, int clients, int requests, unsigned long *numbers);

#endif
