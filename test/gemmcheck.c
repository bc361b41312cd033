/*
** test/gemmcheck.c: ln_gemm_rows (the products that read a batch's rows in
** place, src/kernels/gemm.c) against ln_gemm on the same rows gathered into
** a matrix, bit for bit: both orientations of A, shapes across every tile
** and k-block edge, rows picked by a random index, by none (consecutive rows
** with a stride), beta 0 and 1; ln_nn_dense_forward_rows against
** ln_nn_dense_forward; ln_gemm with B transposed (its panels packed by
** register transposes) against B^T stored as such.  On a CPU without
** AVX-512F ln_gemm_rows must refuse (ln_gemm_rows_ok is 0), which is checked.
** Build and run: make gemmcheck
*/
#include "../src/kernels/gemm.c"
#include "../src/kernels/nn.h"
#include <stdio.h>
#include <stdlib.h>

static unsigned long long seed = 88172645463325252ULL;

static unsigned long long next(void) { /* xorshift64 */
  seed ^= seed << 13;
  seed ^= seed >> 7;
  seed ^= seed << 17;
  return seed;
}

static float value(void) { return (float)((int)(next() % 2001) - 1000) / 977.0f; }

static float *values(size_t n) {
  float *a = malloc((n ? n : 1) * sizeof *a);
  size_t i;
  if (a == NULL) { perror("malloc"); exit(2); }
  for (i = 0; i < n; i++) a[i] = value();
  return a;
}

static int failures = 0, cases = 0;

static void check(int ok, const char *what, int transA, size_t M, size_t N, size_t K, int indexed, float beta) {
  cases++;
  if (ok) return;
  if (failures++ < 10)
    fprintf(stderr, "gemmcheck: %s differs: transA %d, M %zu, N %zu, K %zu, %s rows, beta %g\n", what, transA, M, N,
            K, indexed ? "indexed" : "consecutive", (double)beta);
}

/* one product: op(A) is M x K; the source holds `total` rows of width w
** (>= the used columns, from column c) */
static void one(int transA, size_t M, size_t N, size_t K, int indexed, float beta) {
  size_t rows = transA ? K : M, cols = transA ? M : K; /* A as stored: rows x cols */
  size_t total = rows + 7 + next() % 50, c = next() % 5, w = cols + c + next() % 9, i;
  float *src = values(total * w), *B = values(K * N), *C0 = values(M * N), *C1 = malloc(M * N * sizeof(float));
  float *A = malloc((rows * cols + 1) * sizeof(float));
  size_t *idx = malloc(rows * sizeof *idx), first = next() % (total - rows + 1);
  const float *base;
  int done;
  if (C1 == NULL || A == NULL || idx == NULL) { perror("malloc"); exit(2); }
  memcpy(C1, C0, M * N * sizeof(float));
  for (i = 0; i < rows; i++) idx[i] = indexed ? next() % total : first + i;
  for (i = 0; i < rows; i++) memcpy(A + i * cols, src + idx[i] * w + c, cols * sizeof(float));
  base = indexed ? src + c : src + first * w + c;
  done = ln_gemm_rows(transA, M, N, K, 1.0f, base, w, indexed ? idx : NULL, B, N, beta, C1, N);
  if (done != ln_gemm_rows_ok(N)) check(0, "ln_gemm_rows' answer and ln_gemm_rows_ok", transA, M, N, K, indexed, beta);
  if (done) {
    ln_gemm(transA, 0, M, N, K, 1.0f, A, cols, B, N, beta, C0, N);
    check(memcmp(C0, C1, M * N * sizeof(float)) == 0, "ln_gemm_rows", transA, M, N, K, indexed, beta);
  }
  free(src); free(B); free(C0); free(C1); free(A); free(idx);
}

/* ln_gemm with op(B) = B^T (packed by transposes) against ln_gemm on B^T
** stored as such: the same tiles, so the same bits */
static void transb(int transA, size_t M, size_t N, size_t K) {
  size_t ldb = K + next() % 5, lda = (transA ? M : K) + next() % 3, i, j;
  float *A = values((transA ? K : M) * lda), *B = values(N * ldb), *BT = malloc(K * N * sizeof(float));
  float *C0 = values(M * N), *C1 = malloc(M * N * sizeof(float));
  float beta = (next() & 1) ? 1.0f : 0.0f;
  if (BT == NULL || C1 == NULL) { perror("malloc"); exit(2); }
  memcpy(C1, C0, M * N * sizeof(float));
  for (i = 0; i < N; i++)
    for (j = 0; j < K; j++) BT[j * N + i] = B[i * ldb + j];
  ln_gemm(transA, 0, M, N, K, 1.0f, A, lda, BT, N, beta, C0, N);
  ln_gemm(transA, 1, M, N, K, 1.0f, A, lda, B, ldb, beta, C1, N);
  check(memcmp(C0, C1, M * N * sizeof(float)) == 0, "ln_gemm with B transposed", transA, M, N, K, 0, beta);
  free(A); free(B); free(BT); free(C0); free(C1);
}

/* ln_nn_dense_forward_rows against ln_nn_dense_forward on the gathered rows */
static void dense(size_t rows, size_t n_in, size_t n_out) {
  size_t total = rows + 3 + next() % 20, i;
  float *src = values(total * n_in), *w = values(n_in * n_out), *b = values(n_out);
  float *in = malloc(rows * n_in * sizeof(float)), *o0 = malloc(rows * n_out * sizeof(float));
  float *o1 = malloc(rows * n_out * sizeof(float)), *s0 = malloc(rows * n_out * sizeof(float));
  float *s1 = malloc(rows * n_out * sizeof(float));
  size_t *idx = malloc(rows * sizeof *idx);
  if (!in || !o0 || !o1 || !s0 || !s1 || !idx) { perror("malloc"); exit(2); }
  for (i = 0; i < rows; i++) {
    idx[i] = next() % total;
    memcpy(in + i * n_in, src + idx[i] * n_in, n_in * sizeof(float));
  }
  ln_nn_dense_forward(rows, n_in, n_out, in, w, b, s0, o0);
  ln_nn_dense_forward_rows(rows, n_in, n_out, src, n_in, idx, w, b, s1, o1);
  check(memcmp(o0, o1, rows * n_out * sizeof(float)) == 0, "ln_nn_dense_forward_rows", 0, rows, n_out, n_in, 1,
        1.0f);
  free(src); free(w); free(b); free(in); free(o0); free(o1); free(s0); free(s1); free(idx);
}

int main(void) {
  static const size_t Ms[] = { 1, 2, 5, 6, 7, 12, 13, 64, 65, 128, 150, 392 };
  static const size_t Ns[] = { 32, 33, 47, 63, 64, 65, 100, 128, 129, 200 };
  static const size_t Ks[] = { 1, 2, 15, 16, 17, 127, 128, 129, 255, 256, 300, 392 };
  size_t a, b, k;
  int t, x;
  for (t = 0; t < 2; t++)
    for (a = 0; a < sizeof Ms / sizeof *Ms; a++)
      for (b = 0; b < sizeof Ns / sizeof *Ns; b++)
        for (k = 0; k < sizeof Ks / sizeof *Ks; k++)
          for (x = 0; x < 2; x++) one(t, Ms[a], Ns[b], Ks[k], x, (next() & 1) ? 1.0f : 0.0f);
  /* ln_gemm_rows refuses narrow products (the wide tiles only) */
  {
    float A[4] = { 1, 2, 3, 4 }, B[4] = { 1, 0, 0, 1 }, C[4] = { 0 };
    size_t idx[2] = { 1, 0 };
    check(ln_gemm_rows(0, 2, 2, 2, 1.0f, A, 2, idx, B, 2, 0.0f, C, 2) == 0 && C[0] == 0.0f,
          "a narrow product (refused)", 0, 2, 2, 2, 1, 0.0f);
  }
  {
    static const size_t tN[] = { 1, 10, 15, 16, 17, 31, 32, 33, 64, 100, 128, 130 };
    static const size_t tK[] = { 1, 10, 15, 16, 17, 31, 127, 128, 129, 200 };
    for (t = 0; t < 2; t++)
      for (a = 0; a < sizeof tN / sizeof *tN; a++)
        for (k = 0; k < sizeof tK / sizeof *tK; k++) transb(t, 1 + next() % 70, tN[a], tK[k]);
  }
  for (a = 0; a < 40; a++) dense(1 + next() % 140, 1 + next() % 800, 32 + next() % 150);
  dense(128, 784, 128);
  dense(64, 300, 64);
  printf("gemmcheck: %d of %d cases differ (AVX-512F %s)\n", failures, cases,
         ln_gemm_rows_ok(64) ? "used" : "absent: ln_gemm_rows refused, as it must");
  return failures != 0;
}
