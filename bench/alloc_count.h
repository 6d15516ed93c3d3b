/*
 * alloc_count.h - how many allocations a benchmark made.
 *
 * Go's testing package reports B/op and allocs/op from the runtime's
 * memory statistics. C has no such statistics, so the benchmark binary
 * defines malloc() and friends itself (alloc_count.c): each one counts,
 * then calls glibc's real allocator, keeping its counts per thread so that
 * counting does not slow parallel benchmarks down. Because the definitions live in the
 * executable, they replace malloc for every library it loads, so pcre2's
 * own allocations are counted too (-Wl,--wrap=malloc would miss those).
 *
 * A build that must keep its malloc as it is (tcmalloc for the heap
 * profiler, glibc's for the instruction count) links alloc_count_none.c
 * instead; B/op is then not reported.
 */
#ifndef ALLOC_COUNT_H
#define ALLOC_COUNT_H

struct alloc_totals {
    unsigned long long allocations;   /* calls that returned new memory */
    unsigned long long bytes;         /* bytes those calls asked for */
};

/* The counts so far; alloc_count.c (counting) and alloc_count_none.c
 * (not counting) each give the contract of their version. */
int alloc_totals(struct alloc_totals *totals);

#endif
