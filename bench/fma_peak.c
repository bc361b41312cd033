/*
** bench/fma_peak.c [threads] [seconds]: the machine's single-precision FMA
** peak, measured: every thread runs independent chains of vector FMAs (16
** accumulators, enough to cover the FMA latency on two ports) for the given
** time; prints "fma_peak_gflops X" (2 flops per lane per FMA).  Built by
** bench/run.sh with -O3 (so the accumulators stay in registers) and
** -mavx512f where the CPU has it, else -mavx2 -mfma.
*/
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define STORE _mm512_storeu_ps
#else
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define STORE _mm256_storeu_ps
#endif
#define ACC 16
#define ROUNDS 100000L

static double seconds_wanted = 0.5;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct Arg { double flops, secs; float sink; } Arg;

static void *run(void *p) {
  Arg *a = (Arg *)p;
  vec acc[ACC], x = SET1(0.999999f), y = SET1(1e-7f), s;
  float out[LANES];
  double t0 = now(), t;
  long r, rounds = 0;
  int i;
  for (i = 0; i < ACC; i++) acc[i] = SET1((float)i);
  do {
    for (r = 0; r < ROUNDS; r++)
      for (i = 0; i < ACC; i++) acc[i] = FMA(acc[i], x, y);
    rounds += ROUNDS;
    t = now() - t0;
  } while (t < seconds_wanted);
  s = acc[0];
  for (i = 1; i < ACC; i++) s = ADD(s, acc[i]);
  STORE(out, s);
  a->sink = out[0];
  a->flops = 2.0 * LANES * ACC * (double)rounds;
  a->secs = t;
  return NULL;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1, i;
  pthread_t th[256];
  Arg a[256];
  double total = 0;
  if (argc > 2) seconds_wanted = atof(argv[2]);
  if (n < 1 || n > 256) n = 1;
  for (i = 0; i < n; i++) pthread_create(&th[i], NULL, run, &a[i]);
  for (i = 0; i < n; i++) {
    pthread_join(th[i], NULL);
    total += a[i].flops / a[i].secs;
  }
  printf("fma_peak_gflops %.1f\n", total / 1e9);
  printf("fma_width %d\n", LANES * 32);
  return a[0].sink == 12345.0f;
}
