/*
** optim.c: the optimizers' element loops (see optim.h).  Each is one flat
** loop with restrict-qualified pointers so the compiler can vectorise it;
** the operations follow the book's NumPy expressions in order, in float32,
** so results match a float32 NumPy run to rounding.
*/
/* GCC's -O2 vectorises only loops whose trip count fits the vector width;
** these flat loops need -O3's vectoriser, and sqrtf needs no-math-errno to
** vectorise (values are unchanged: no fast-math, sums keep their order) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-math-errno", "vect-cost-model=dynamic")
#endif
#include <math.h>
#include "optim.h"

/* Note: the sqrtf loops vectorise with -O3 -fno-math-errno (GCC needs to
** know sqrtf cannot set errno); at the default -O2 they run scalar, which
** costs little next to the matrix products of a training step. */

/* w += -lr * g */
void ln_sgd(size_t n, float lr, const float *restrict g, float *restrict w) {
  size_t i;
  const float nlr = -lr;
  for (i = 0; i < n; i++) w[i] += nlr * g[i];
}

/* u = mu * m - lr * g; m = u; w += u */
void ln_sgd_momentum(size_t n, float lr, float mu, const float *restrict g,
                     float *restrict m, float *restrict w) {
  size_t i;
  for (i = 0; i < n; i++) {
    float u = mu * m[i] - lr * g[i];
    m[i] = u;
    w[i] += u;
  }
}

/* c += g^2; w += -lr * g / (sqrt(c) + eps) */
void ln_adagrad(size_t n, float lr, float eps, const float *restrict g,
                float *restrict c, float *restrict w) {
  size_t i;
  const float nlr = -lr;
  for (i = 0; i < n; i++) {
    float ci = c[i] + g[i] * g[i];
    c[i] = ci;
    w[i] += nlr * g[i] / (sqrtf(ci) + eps);
  }
}

/* c = rho * c + a1 * g^2 (a1 = 1 - rho); w += -lr * g / (sqrt(c) + eps) */
void ln_rmsprop(size_t n, float lr, float rho, float a1, float eps,
                const float *restrict g, float *restrict c, float *restrict w) {
  size_t i;
  const float nlr = -lr;
  for (i = 0; i < n; i++) {
    float ci = rho * c[i] + a1 * (g[i] * g[i]);
    c[i] = ci;
    w[i] += nlr * g[i] / (sqrtf(ci) + eps);
  }
}

/* m = b1 m + a1 g; v = b2 v + a2 g^2;
** w += -lr * (m / c1) / (sqrt(v / c2) + eps) */
void ln_adam(size_t n, float lr, float b1, float a1, float b2, float a2,
             float c1, float c2, float eps,
             const float *restrict g, float *restrict m, float *restrict v,
             float *restrict w) {
  size_t i;
  const float nlr = -lr;
  for (i = 0; i < n; i++) {
    float mi = b1 * m[i] + a1 * g[i];
    float vi = b2 * v[i] + a2 * (g[i] * g[i]);
    m[i] = mi;
    v[i] = vi;
    w[i] += nlr * (mi / c1) / (sqrtf(vi / c2) + eps);
  }
}
