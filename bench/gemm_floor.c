/*
** bench/gemm_floor.c: the GEMM floor of one epoch of the book's
** Fashion-MNIST run: only the 8 matrix products of each training step
** (3 forward, 3 weight gradients, 2 input gradients; the first layer's input
** gradient is not needed), for 60,000 samples in batches of 128, through
** lunet's own ln_gemm (src/kernels/gemm.c: its AVX-512 tiles where the CPU
** has them, else the BLAS), or with "blas" straight through cblas_sgemm.
** Build: see bench/run.sh.  Usage: gemm_floor [threads] [reps] [blas]
** Prints "gemm_floor <best seconds>" and "gemm_gflops <GFLOP/s>".
*/
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "../src/kernels/kernels.h"
#ifdef LUNET_USE_CBLAS
#include <cblas.h>
#endif

typedef void (*gemm_fn)(int, int, size_t, size_t, size_t, float, const float *, size_t, const float *, size_t,
                        float, float *, size_t);

#ifdef LUNET_USE_CBLAS
/* the product straight through the BLAS */
static void blas_gemm(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
                      const float *B, size_t ldb, float beta, float *C, size_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N,
              (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}
#endif

/* monotonic seconds */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* an array of n floats filled with small pseudo-random values */
static float *fill(size_t n, unsigned *seed) {
  float *a = malloc(n * sizeof *a);
  size_t i;
  if (a == NULL) { perror("malloc"); exit(1); }
  for (i = 0; i < n; i++) {
    *seed = *seed * 1103515245u + 12345u;
    a[i] = (float)((*seed >> 9) & 0xffff) / 65536.0f - 0.5f;
  }
  return a;
}

int main(int argc, char **argv) {
  const size_t N = 60000, BS = 128, NIN = 784, H = 128, O = 10;
  int threads = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 3, r;
  unsigned seed = 1;
  float *X = fill(BS * NIN, &seed), *W1 = fill(NIN * H, &seed), *W2 = fill(H * H, &seed), *W3 = fill(H * O, &seed);
  float *A1 = fill(BS * H, &seed), *A2 = fill(BS * H, &seed), *Z3 = fill(BS * O, &seed);
  float *D3 = fill(BS * O, &seed), *D2 = fill(BS * H, &seed), *D1 = fill(BS * H, &seed);
  float *G1 = fill(NIN * H, &seed), *G2 = fill(H * H, &seed), *G3 = fill(H * O, &seed);
  double best = 1e30, flops = 0.0;
  gemm_fn gemm = ln_gemm;
  const char *backend = "lunet";
#ifdef LUNET_USE_CBLAS
  if (argc > 3 && argv[3][0] == 'b') { gemm = blas_gemm; backend = "blas"; }
#endif
  ln_gemm_set_threads(threads);
  for (r = 0; r < reps; r++) {
    double t = now();
    size_t s;
    flops = 0.0;
    for (s = 0; s < N; s += BS) {
      size_t m = N - s < BS ? N - s : BS;
      gemm(0, 0, m, H, NIN, 1.0f, X, NIN, W1, H, 1.0f, A1, H);
      gemm(0, 0, m, H, H, 1.0f, A1, H, W2, H, 1.0f, A2, H);
      gemm(0, 0, m, O, H, 1.0f, A2, H, W3, O, 1.0f, Z3, O);
      gemm(1, 0, H, O, m, 1.0f, A2, H, D3, O, 0.0f, G3, O);
      gemm(0, 1, m, H, O, 1.0f, D3, O, W3, O, 0.0f, D2, H);
      gemm(1, 0, H, H, m, 1.0f, A1, H, D2, H, 0.0f, G2, H);
      gemm(0, 1, m, H, H, 1.0f, D2, H, W2, H, 0.0f, D1, H);
      gemm(1, 0, NIN, H, m, 1.0f, X, NIN, D1, H, 0.0f, G1, H);
      flops += 2.0 * (double)m * (double)(2 * (NIN * H + H * H + H * O) + H * H + H * O);
    }
    t = now() - t;
    if (t < best) best = t;
  }
  printf("gemm_floor %.4f\n", best);
  printf("gemm_gflops %.2f\n", flops / best * 1e-9);
  printf("gemm_backend %s (%s)\n", ln_gemm_backend(), backend);
  printf("gemm_threads %d\n", ln_gemm_threads());
  free(X); free(W1); free(W2); free(W3); free(A1); free(A2); free(Z3);
  free(D3); free(D2); free(D1); free(G1); free(G2); free(G3);
  return 0;
}
