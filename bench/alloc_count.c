/*
 * alloc_count.c - malloc and friends, counted (alloc_count.h).
 *
 * Every function counts, then calls the __libc_ entry point that glibc
 * exports for exactly this purpose. The counts are kept per thread: a
 * counter shared by all threads would put one contended cache line on
 * every allocation of a parallel benchmark, and the instrument would slow
 * down the very code it counts. alloc_totals() adds them up when asked,
 * which the benchmark harness does only when its timer stops.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <errno.h>

#include "alloc_count.h"

/* glibc's allocator under the names it keeps for interposers. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);
extern void __libc_free(void *pointer);

/* ============================ Counters =================================== */

/* One thread's counts, alone on its cache line. Only its own thread
 * writes it (a relaxed load and store, no locked instruction); others
 * only read it. */
struct thread_counts {
    _Alignas(64) atomic_ullong allocations;   /* calls that returned new memory */
    atomic_ullong bytes;                       /* bytes those calls asked for */
};

/* Enough for the main thread and a worker per CPU of any laptop. Threads
 * beyond that share the overflow slot, which counts with atomic adds:
 * slower, never wrong. A slot outlives its thread, so its counts remain. */
#define THREAD_SLOTS 256

static struct thread_counts slots[THREAD_SLOTS];
static struct thread_counts overflow;
static atomic_int slots_taken;

/* The calling thread's slot. In the executable, _Thread_local is one
 * %fs-relative load: no call, no lock. */
static _Thread_local struct thread_counts *my_counts;

/* Returns the calling thread's slot, claiming one on its first call. */
static struct thread_counts *thread_counts(void)
{
    if (my_counts == NULL) {
        int slot = atomic_fetch_add_explicit(&slots_taken, 1, memory_order_relaxed);

        my_counts = slot < THREAD_SLOTS ? &slots[slot] : &overflow;
    }
    return my_counts;
}

/* Adds value to a counter that only this thread writes. */
static void add_own(atomic_ullong *counter, unsigned long long value)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + value,
                          memory_order_relaxed);
}

/* Records one allocation of size bytes when it succeeded. Returns pointer. */
static void *counted(void *pointer, size_t size)
{
    struct thread_counts *counts;

    if (pointer == NULL)
        return pointer;
    counts = thread_counts();
    if (counts == &overflow) {
        atomic_fetch_add_explicit(&overflow.allocations, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&overflow.bytes, size, memory_order_relaxed);
    } else {
        add_own(&counts->allocations, 1);
        add_own(&counts->bytes, size);
    }
    return pointer;
}

/* Fills totals with every allocation counted so far, in all threads.
 * Exact for threads that are quiet (finished, or waiting for the next
 * run); a thread allocating right now may be a count behind. Returns 1:
 * this build counts allocations. */
int alloc_totals(struct alloc_totals *totals)
{
    int taken = atomic_load_explicit(&slots_taken, memory_order_relaxed);

    totals->allocations = atomic_load_explicit(&overflow.allocations, memory_order_relaxed);
    totals->bytes = atomic_load_explicit(&overflow.bytes, memory_order_relaxed);
    for (int i = 0; i < taken && i < THREAD_SLOTS; i++) {
        totals->allocations += atomic_load_explicit(&slots[i].allocations, memory_order_relaxed);
        totals->bytes += atomic_load_explicit(&slots[i].bytes, memory_order_relaxed);
    }
    return 1;
}

/* ============================ The allocator ============================== */

/* The functions below replace glibc's allocator entry points for the whole
 * program, pcre2 included: each calls the real one and counts the block.
 * Each returns what the glibc function it wraps returns. */
void *malloc(size_t size)
{
    return counted(__libc_malloc(size), size);
}

/* Counts count * size bytes, as Go counts a make([]T, n). */
void *calloc(size_t count, size_t size)
{
    return counted(__libc_calloc(count, size), count * size);
}

/* A realloc may move the block: it counts as a new allocation of size,
 * as Go counts a slice that grows. realloc(p, 0) frees and counts nothing. */
void *realloc(void *pointer, size_t size)
{
    return counted(__libc_realloc(pointer, size), size);
}

/* Freeing is not counted: allocs/op counts allocations, as Go does. */
void free(void *pointer)
{
    __libc_free(pointer);
}

/* The older aligned allocators, used by some libraries: counted too. */
void *memalign(size_t alignment, size_t size)
{
    return counted(__libc_memalign(alignment, size), size);
}

/* C11's aligned allocator (the benchmark harness uses it itself). */
void *aligned_alloc(size_t alignment, size_t size)
{
    return counted(__libc_memalign(alignment, size), size);
}

/* Returns 0 or an error number, as POSIX says; never sets errno. */
int posix_memalign(void **result, size_t alignment, size_t size)
{
    void *pointer;

    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    pointer = counted(__libc_memalign(alignment, size), size);
    if (pointer == NULL)
        return ENOMEM;
    *result = pointer;
    return 0;
}

/* Page-aligned, obsolete, still exported by glibc: counted so that no
 * allocation slips past. */
void *valloc(size_t size)
{
    return counted(__libc_valloc(size), size);
}

/* Like valloc(), rounded up to whole pages. */
void *pvalloc(size_t size)
{
    return counted(__libc_pvalloc(size), size);
}
