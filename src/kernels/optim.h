/*
** optim.h: parameter-update kernels of lunet's optimizers (the book's SGD,
** Adagrad, RMSprop and Adam), in the style of KANN's kann_RMSprop: one flat
** loop over n floats, gradients const, state and weights updated in place.
** Per-step scalars (decayed learning rate, bias corrections) are computed by
** the caller in double and passed in as floats, and so are the complements
** 1 - rho, 1 - beta: in float, 1 - 0.999f loses four digits (0.00099998713
** instead of 0.001), which NumPy, computing them from Python doubles, does not.  Plain C99: no lua.h, no
** printing, no errors.  Arrays must not overlap.
**
** Common parameters
**   n    number of elements of g, the state arrays and w
**   lr   the current learning rate (after decay)
**   eps  epsilon added to the root of the cache
**   g    gradients (dweights or dbiases)
**   w    parameters, updated in place
*/
#ifndef LUNET_OPTIM_H
#define LUNET_OPTIM_H

#include <stddef.h>

/* plain SGD: w += -lr * g */
void ln_sgd(size_t n, float lr, const float *g, float *w);

/* SGD with momentum mu: u = mu * m - lr * g; m = u; w += u */
void ln_sgd_momentum(size_t n, float lr, float mu, const float *g, float *m, float *w);

/* Adagrad: c += g^2; w += -lr * g / (sqrt(c) + eps) */
void ln_adagrad(size_t n, float lr, float eps, const float *g, float *c, float *w);

/* RMSprop: c = rho * c + (1 - rho) * g^2; w += -lr * g / (sqrt(c) + eps)
** with a1 = 1 - rho */
void ln_rmsprop(size_t n, float lr, float rho, float a1, float eps,
                const float *g, float *c, float *w);

/* Adam: m = b1 m + a1 g; v = b2 v + a2 g^2;
** w += -lr * (m / c1) / (sqrt(v / c2) + eps)
** where a1 = 1 - b1, a2 = 1 - b2, and c1 = 1 - b1^t, c2 = 1 - b2^t
** (t = step number from 1) are the bias corrections, divided by as in the
** book (not multiplied by inverses). */
void ln_adam(size_t n, float lr, float b1, float a1, float b2, float a2,
             float c1, float c2, float eps,
             const float *g, float *m, float *v, float *w);

/* the optimizers' kinds */
typedef enum { LN_SGD, LN_ADAGRAD, LN_RMSPROP, LN_ADAM } ln_OptKind;

/* one parameter tensor's update, prepared by the Lua bindings (state found or created, shapes
** checked; ln_optimizer_prepare) so that element ranges can run later, on any thread: the
** kernels are elementwise, so splitting the range never changes a result */
typedef struct ln_Update {
  ln_OptKind kind;
  int plain;             /* SGD without momentum (no state) */
  size_t n;
  float lr, eps, mu, rho, a1, b1, b2, a2, c1, c2;
  const float *g;
  float *s1, *s2, *w;    /* momentum (or cache), cache, parameters */
} ln_Update;
/* run elements [lo, hi) of a prepared update */
void ln_update_run(const ln_Update *u, size_t lo, size_t hi);

#endif
