/*
** bench/alloc_count.c: LD_PRELOAD shim counting malloc/calloc/realloc calls
** (glibc's __libc_* underneath); prints "allocs <n>" to stderr at exit.
** bench/run.sh runs an epoch script with 1 and with 3 epochs under it: the
** difference is what the extra epochs allocate.
*/
#include <stdio.h>
#include <stddef.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t s);
extern void *__libc_realloc(void *p, size_t n);

static unsigned long count;

void *malloc(size_t n) { __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED); return __libc_malloc(n); }
void *calloc(size_t n, size_t s) { __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED); return __libc_calloc(n, s); }
void *realloc(void *p, size_t n) { __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED); return __libc_realloc(p, n); }

/* report at exit */
__attribute__((destructor)) static void report(void) { fprintf(stderr, "allocs %lu\n", count); }
