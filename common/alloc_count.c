/*
 * alloc_count.c - malloc and friends, counted. See alloc_count.h.
 *
 * Every function counts with relaxed atomics (no ordering is needed, only
 * the totals) and then calls the __libc_ entry point that glibc exports
 * for exactly this purpose.
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

static atomic_ullong allocation_count;
static atomic_ullong allocated_bytes;

/* Records one allocation of size bytes when it succeeded. Returns pointer. */
static void *counted(void *pointer, size_t size)
{
    if (pointer != NULL) {
        atomic_fetch_add_explicit(&allocation_count, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&allocated_bytes, size, memory_order_relaxed);
    }
    return pointer;
}

/* See alloc_count.h. Fills totals with everything counted so far. Returns
 * 1: this build counts allocations. */
int alloc_totals(struct alloc_totals *totals)
{
    totals->allocations = atomic_load_explicit(&allocation_count, memory_order_relaxed);
    totals->bytes = atomic_load_explicit(&allocated_bytes, memory_order_relaxed);
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
