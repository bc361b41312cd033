/*
** pool.c: see pool.h.
*/
#include <sched.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "pool.h"

#define SPINS 20000       /* busy-wait rounds before yielding the core */
#define IDLE_NS 3000000L  /* the worker sleeps after 3 ms without a job */

/* a hint to the core that this thread is spinning */
static void relax(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __builtin_ia32_pause();
#endif
}

/* monotonic nanoseconds */
static long long nanos(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* wait until *x reaches v: spin, then yield the core */
static void waitfor(const unsigned *x, unsigned v) {
  int spins = 0;
  while ((int)(__atomic_load_n(x, __ATOMIC_ACQUIRE) - v) < 0) {
    relax();
    if (++spins > SPINS) sched_yield();
  }
}

/* barrier number k (1, 2, ...) of the current job among its parts */
void ln_pool_barrier(ln_Pool *p, int parts, unsigned k) {
  if (parts == 1) return;
  __atomic_add_fetch(&p->bar, 1, __ATOMIC_ACQ_REL);
  waitfor(&p->bar, (unsigned)parts * k);
}

/* a worker and its part number */
typedef struct Worker { ln_Pool *p; int part; } Worker;

/* a worker: run its part of each job posted.  Between jobs it spins (a
** step posts three jobs a few microseconds apart; waking a sleeping thread
** costs more than the job) and sleeps after IDLE_NS, or at once when parked */
static void *pool_main(void *arg) {
  Worker w = *(Worker *)arg;
  ln_Pool *p = w.p;
  unsigned seen = 0;
  free(arg);
  for (;;) {
    int spins = 0;
    long long t0 = nanos();
    while (__atomic_load_n(&p->go, __ATOMIC_ACQUIRE) == seen) {
      relax();
      if (__atomic_load_n(&p->park, __ATOMIC_ACQUIRE) || (++spins % 1024 == 0 && nanos() - t0 > IDLE_NS)) {
        pthread_mutex_lock(&p->mu);
        while (__atomic_load_n(&p->go, __ATOMIC_ACQUIRE) == seen && !p->quit) pthread_cond_wait(&p->cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
        t0 = nanos();
      }
      if (__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE)) return NULL;
    }
    if (__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE)) return NULL;
    seen++;
    p->job(p, p->arg, w.part, p->nworkers + 1);
    __atomic_add_fetch(&p->done, 1, __ATOMIC_ACQ_REL);
  }
}

int ln_pool_start(ln_Pool *p, int n) {
  int i;
  if (n < 2 || n > LN_MAXTHREADS || p->started) return -1;
  p->go = p->done = p->bar = 0; /* a pool may be started again after ln_pool_stop */
  p->quit = p->park = 0;
  if (pthread_mutex_init(&p->mu, NULL) != 0) return -1;
  if (pthread_cond_init(&p->cv, NULL) != 0) { pthread_mutex_destroy(&p->mu); return -1; }
  p->th = (pthread_t *)malloc((size_t)(n - 1) * sizeof *p->th);
  p->started = 1;
  p->nworkers = 0;
  for (i = 1; p->th != NULL && i < n; i++) {
    Worker *w = (Worker *)malloc(sizeof *w);
    if (w == NULL) break;
    w->p = p;
    w->part = i;
    if (pthread_create(&p->th[i - 1], NULL, pool_main, w) != 0) { free(w); break; }
    p->nworkers++;
  }
  if (p->nworkers == 0) { ln_pool_stop(p); return -1; }
  return 0; /* fewer workers than asked when threads ran out: the parts follow nworkers */
}

void ln_pool_stop(ln_Pool *p) {
  int i;
  if (!p->started) return;
  pthread_mutex_lock(&p->mu);
  __atomic_store_n(&p->quit, 1, __ATOMIC_RELEASE);
  __atomic_add_fetch(&p->go, 1, __ATOMIC_ACQ_REL);
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  for (i = 0; i < p->nworkers; i++) pthread_join(p->th[i], NULL);
  free(p->th);
  p->th = NULL;
  p->nworkers = 0;
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  p->started = 0;
}

int ln_pool_parts(const ln_Pool *p) {
  return p != NULL && p->started ? p->nworkers + 1 : 1;
}

void ln_pool_run(ln_Pool *p, ln_Job job, void *arg) {
  unsigned target;
  if (!p->started) { job(NULL, arg, 0, 1); return; }
  p->job = job;
  p->arg = arg;
  target = __atomic_load_n(&p->done, __ATOMIC_ACQUIRE) + (unsigned)p->nworkers;
  __atomic_store_n(&p->park, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&p->bar, 0, __ATOMIC_RELAXED);
  pthread_mutex_lock(&p->mu);
  __atomic_add_fetch(&p->go, 1, __ATOMIC_ACQ_REL);
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  job(p, arg, 0, p->nworkers + 1);
  waitfor(&p->done, target);
}

void ln_pool_park(ln_Pool *p) {
  if (p->started) __atomic_store_n(&p->park, 1, __ATOMIC_RELEASE);
}

/* the number of online cores, read once (sysconf opens and reads a file in
** /sys on every call: 8 ms of a 0.24 s epoch when it ran every step) */
long ln_ncores(void) {
  static long n = 0;
  long c = __atomic_load_n(&n, __ATOMIC_RELAXED);
  if (c == 0) {
    c = sysconf(_SC_NPROCESSORS_ONLN);
    if (c < 1) c = 1;
    __atomic_store_n(&n, c, __ATOMIC_RELAXED);
  }
  return c;
}


void ln_partrange(size_t n, size_t align, int part, int parts, size_t *lo, size_t *hi) {
  size_t blocks = (n + align - 1) / align, per = (blocks + (size_t)parts - 1) / (size_t)parts * align;
  *lo = (size_t)part * per;
  *hi = *lo + per;
  if (*lo > n) *lo = n;
  if (*hi > n) *hi = n;
}
