/*
** pool.c: see pool.h.
*/
#include <sched.h>
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

/* two-party barrier number k (1, 2, ...) of the current job */
void ln_pool_barrier(ln_Pool *p, int parts, unsigned k) {
  if (parts == 1) return;
  __atomic_add_fetch(&p->bar, 1, __ATOMIC_ACQ_REL);
  waitfor(&p->bar, 2 * k);
}

/* the worker: run part 1 of each job posted.  Between jobs it spins (a
** step posts three jobs a few microseconds apart; waking a sleeping thread
** costs more than the job) and sleeps after IDLE_NS, or at once when parked */
static void *pool_main(void *arg) {
  ln_Pool *p = (ln_Pool *)arg;
  unsigned seen = 0;
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
      if (p->quit) return NULL;
    }
    if (p->quit) return NULL;
    seen++;
    p->job(p, p->arg, 1, 2);
    __atomic_store_n(&p->done, seen, __ATOMIC_RELEASE);
  }
}

int ln_pool_start(ln_Pool *p) {
  if (pthread_mutex_init(&p->mu, NULL) != 0) return -1;
  if (pthread_cond_init(&p->cv, NULL) != 0) { pthread_mutex_destroy(&p->mu); return -1; }
  if (pthread_create(&p->th, NULL, pool_main, p) != 0) {
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    return -1;
  }
  p->started = 1;
  return 0;
}

void ln_pool_stop(ln_Pool *p) {
  if (!p->started) return;
  pthread_mutex_lock(&p->mu);
  p->quit = 1;
  __atomic_add_fetch(&p->go, 1, __ATOMIC_ACQ_REL);
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  pthread_join(p->th, NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  p->started = 0;
}

void ln_pool_run(ln_Pool *p, ln_Job job, void *arg) {
  p->job = job;
  p->arg = arg;
  __atomic_store_n(&p->park, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&p->bar, 0, __ATOMIC_RELAXED);
  pthread_mutex_lock(&p->mu);
  __atomic_add_fetch(&p->go, 1, __ATOMIC_ACQ_REL);
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  job(p, arg, 0, 2);
  waitfor(&p->done, __atomic_load_n(&p->go, __ATOMIC_ACQUIRE));
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

