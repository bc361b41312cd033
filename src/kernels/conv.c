/*
** conv.c: im2row convolutions, max pooling and batch normalisation (conv.h).
*/
#include <math.h>
#include <string.h>
#include "conv.h"
#include "kernels.h"

size_t ln_conv_block(const ln_ConvGeom *g) {
  size_t ohw = g->oh * g->ow, ckk = g->c * g->kh * g->kw;
  size_t per = ohw * (2 * ckk + g->out) * sizeof(float), s = LN_CONV_BLOCK_BYTES / (per ? per : 1);
  return s < 1 ? 1 : s > g->n ? g->n : s;
}

size_t ln_conv_outsize(size_t in, size_t k, size_t stride, size_t pad_total) {
  if (in + pad_total < k) return 0;
  return (in + pad_total - k) / stride + 1;
}

size_t ln_conv_same(size_t in, size_t k, size_t stride, size_t *out, size_t *front) {
  size_t o = (in + stride - 1) / stride, need = (o - 1) * stride + k, total = need > in ? need - in : 0;
  *out = o;
  *front = total / 2;
  return total;
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#include "kernels.h"
#define CONV_AVX512 1
/* the inside case of a patch row with AVX-512: each of the c x kh runs of
** kw <= 16 values one masked load and store */
__attribute__((target("avx512f"))) static void row_in512(size_t c, size_t kh, size_t kw, size_t w, size_t plane,
                                                      const float *src, float *row) {
  __mmask16 m = (__mmask16)((1u << kw) - 1u);
  size_t ci, ky;
  for (ci = 0; ci < c; ci++, src += plane)
    for (ky = 0; ky < kh; ky++, row += kw)
      _mm512_mask_storeu_ps(row, m, _mm512_maskz_loadu_ps(m, src + ky * w));
}
#endif

void ln_conv_im2row(const ln_ConvGeom *g, const float *x, size_t r0, size_t r1, float *P) {
  size_t ckk = g->c * g->kh * g->kw, ohw = g->oh * g->ow, plane = g->h * g->w, r, kw = g->kw;
#ifdef CONV_AVX512
  int fast = ln_cpu_level() >= 2;
#endif
  for (r = r0; r < r1; r++) {
    size_t n = r / ohw, p = r % ohw, oy = p / g->ow, ox = p % g->ow, ci, ky, kx;
    const float *xn = x + n * g->c * plane;
    float *row = P + r * ckk;
    ptrdiff_t y0 = (ptrdiff_t)(oy * g->sh) - (ptrdiff_t)g->pt, x0 = (ptrdiff_t)(ox * g->sw) - (ptrdiff_t)g->pl;
    int inside = y0 >= 0 && x0 >= 0 && y0 + (ptrdiff_t)g->kh <= (ptrdiff_t)g->h &&
                 x0 + (ptrdiff_t)g->kw <= (ptrdiff_t)g->w;
    if (inside) { /* the common case: plain copies of kw values (no call per run: kw is small) */
      const float *src = xn + (size_t)y0 * g->w + (size_t)x0;
#ifdef CONV_AVX512
      if (fast && kw <= 16) {
        row_in512(g->c, g->kh, kw, g->w, plane, src, row);
        continue;
      }
#endif
      for (ci = 0; ci < g->c; ci++, src += plane)
        for (ky = 0; ky < g->kh; ky++, row += kw)
          for (kx = 0; kx < kw; kx++) row[kx] = src[ky * g->w + kx];
      continue;
    }
    for (ci = 0; ci < g->c; ci++) {
      const float *xc = xn + ci * plane;
      for (ky = 0; ky < g->kh; ky++, row += kw) {
        ptrdiff_t iy = y0 + (ptrdiff_t)ky;
        if (iy < 0 || iy >= (ptrdiff_t)g->h) {
          for (kx = 0; kx < kw; kx++) row[kx] = 0.0f;
          continue;
        }
        for (kx = 0; kx < kw; kx++) {
          ptrdiff_t ix = x0 + (ptrdiff_t)kx;
          row[kx] = ix >= 0 && ix < (ptrdiff_t)g->w ? xc[(size_t)iy * g->w + (size_t)ix] : 0.0f;
        }
      }
    }
  }
}

/* the output columns ox whose input column ox * sw + k - pad lies in
** 0 .. w - 1: *lo .. *hi */
static void validcols(size_t ow, size_t sw, size_t k, size_t pad, size_t w, size_t *lo, size_t *hi) {
  size_t a = pad > k ? (pad - k + sw - 1) / sw : 0, b;
  /* ox * sw + k - pad <= w - 1  <=>  ox <= (w - 1 + pad - k) / sw */
  b = w - 1 + pad >= k ? (w - 1 + pad - k) / sw + 1 : 0;
  if (b > ow) b = ow;
  *lo = a < b ? a : b;
  *hi = b;
}

LN_CLONES void ln_conv_col2im(const ln_ConvGeom *g, const float *dPt, float *dx) {
  size_t ohw = g->oh * g->ow, plane = g->h * g->w, ci, ky, kx, oy;
  memset(dx, 0, g->c * plane * sizeof(float));
  for (ci = 0; ci < g->c; ci++)
    for (ky = 0; ky < g->kh; ky++)
      for (kx = 0; kx < g->kw; kx++) {
        const float *col = dPt + ((ci * g->kh + ky) * g->kw + kx) * ohw;
        size_t lo, hi;
        validcols(g->ow, g->sw, kx, g->pl, g->w, &lo, &hi);
        if (hi <= lo) continue;
        for (oy = 0; oy < g->oh; oy++) {
          ptrdiff_t iy = (ptrdiff_t)(oy * g->sh + ky) - (ptrdiff_t)g->pt;
          if (iy < 0 || iy >= (ptrdiff_t)g->h) continue;
          {
            const float *src = col + oy * g->ow + lo;
            float *dst = dx + ci * plane + (size_t)iy * g->w + lo * g->sw + kx - g->pl;
            size_t i, n = hi - lo;
            if (g->sw == 1)
              for (i = 0; i < n; i++) dst[i] += src[i];
            else
              for (i = 0; i < n; i++) dst[i * g->sw] += src[i];
          }
        }
      }
}

/* the transposes between product rows (pixel-major) and images
** (channel-major) in 16 x 16 tiles, so that both sides stay in cache lines */
#define TT 16

void ln_conv_rows2img(const ln_ConvGeom *g, const float *Yr, const float *b, size_t n0, size_t n1, float *y) {
  size_t ohw = g->oh * g->ow, out = g->out, n, p0, o0, p, o;
  for (n = n0; n < n1; n++) {
    const float *src = Yr + n * ohw * out;
    float *dst = y + n * out * ohw;
    for (o0 = 0; o0 < out; o0 += TT) {
      size_t o1 = o0 + TT < out ? o0 + TT : out;
      for (p0 = 0; p0 < ohw; p0 += TT) {
        size_t p1 = p0 + TT < ohw ? p0 + TT : ohw;
        for (o = o0; o < o1; o++) {
          float bo = b ? b[o] : 0.0f;
          for (p = p0; p < p1; p++) dst[o * ohw + p] = src[p * out + o] + bo;
        }
      }
    }
  }
}

void ln_conv_img2rows(const ln_ConvGeom *g, const float *dy, size_t n0, size_t n1, float *dYr) {
  size_t ohw = g->oh * g->ow, out = g->out, n, p0, o0, p, o;
  for (n = n0; n < n1; n++) {
    const float *src = dy + n * out * ohw;
    float *dst = dYr + n * ohw * out;
    for (p0 = 0; p0 < ohw; p0 += TT) {
      size_t p1 = p0 + TT < ohw ? p0 + TT : ohw;
      for (o0 = 0; o0 < out; o0 += TT) {
        size_t o1 = o0 + TT < out ? o0 + TT : out;
        for (p = p0; p < p1; p++)
          for (o = o0; o < o1; o++) dst[p * out + o] = src[o * ohw + p];
      }
    }
  }
}

/* ------------------------------------------------------------ pooling */

#ifdef CONV_AVX512
/* 16 outputs of a row at once: the window's values gathered (any size and
** stride), compared as the scalar loop below does; positions as int32 */
__attribute__((target("avx512f"))) static void pool512(size_t h, size_t w, size_t kh, size_t kw, size_t sh,
                                                    size_t sw, size_t oh, size_t ow, const float *xp, float *yp,
                                                    float *ap) {
  size_t oy, o0, ky, kx;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i step = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)sw));
  (void)h;
  for (oy = 0; oy < oh; oy++) {
    for (o0 = 0; o0 < ow; o0 += 16) {
      __mmask16 m = ow - o0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (ow - o0)) - 1u);
      __m512i at = _mm512_add_epi32(_mm512_set1_epi32((int)(oy * sh * w + o0 * sw)), step), bi = at;
      __m512 best = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, at, xp, 4);
      for (ky = 0; ky < kh; ky++) {
        for (kx = ky == 0; kx < kw; kx++) {
          __m512i i = _mm512_add_epi32(at, _mm512_set1_epi32((int)(ky * w + kx)));
          __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, i, xp, 4);
          __mmask16 t = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |
                        (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q));
          best = _mm512_mask_mov_ps(best, t, v);
          bi = _mm512_mask_mov_epi32(bi, t, i);
        }
      }
      _mm512_mask_storeu_ps(yp + oy * ow + o0, m, best);
      _mm512_mask_storeu_ps(ap + oy * ow + o0, m, _mm512_cvtepi32_ps(bi));
    }
  }
}
#endif

void ln_maxpool_forward(size_t h, size_t w, size_t kh, size_t kw, size_t sh, size_t sw, size_t oh, size_t ow,
                        const float *x, size_t p0, size_t p1, float *y, float *arg) {
  size_t pl, oy, ox, ky, kx;
#ifdef CONV_AVX512
  if (ln_cpu_level() >= 2 && h * w < ((size_t)1 << 24)) {
    for (pl = p0; pl < p1; pl++) pool512(h, w, kh, kw, sh, sw, oh, ow, x + pl * h * w, y + pl * oh * ow, arg + pl * oh * ow);
    return;
  }
#endif
  for (pl = p0; pl < p1; pl++) {
    const float *xp = x + pl * h * w;
    float *yp = y + pl * oh * ow, *ap = arg + pl * oh * ow;
    for (oy = 0; oy < oh; oy++) {
      for (ox = 0; ox < ow; ox++) {
        size_t at = oy * sh * w + ox * sw, best_i = at;
        float best = xp[at];
        for (ky = 0; ky < kh && best == best; ky++) {
          for (kx = 0; kx < kw; kx++) {
            size_t i = (oy * sh + ky) * w + ox * sw + kx;
            float v = xp[i];
            if (v > best || v != v) {
              best = v;
              best_i = i;
              if (v != v) break;
            }
          }
        }
        yp[oy * ow + ox] = best;
        ap[oy * ow + ox] = (float)best_i;
      }
    }
  }
}

void ln_maxpool_backward(size_t h, size_t w, size_t oh, size_t ow, const float *dy, const float *arg, size_t p0,
                         size_t p1, float *dx) {
  size_t pl, i;
  memset(dx + p0 * h * w, 0, (p1 - p0) * h * w * sizeof(float));
  for (pl = p0; pl < p1; pl++) {
    float *dp = dx + pl * h * w;
    const float *dyp = dy + pl * oh * ow, *ap = arg + pl * oh * ow;
    for (i = 0; i < oh * ow; i++) dp[(size_t)ap[i]] += dyp[i];
  }
}

/* ------------------------------------------------- batch normalisation
** Sums over a feature's values run in 8 double lanes per plane (a fixed
** order, so the same on every CPU and thread count, and vectorised), the
** planes added in order. */
#define BNL 8

static double lanes8(const double *acc) {
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

LN_CLONES static double bn_sum(const float *x, size_t n) {
  double acc[BNL] = { 0 };
  size_t i, j, m = n - n % BNL;
  for (i = 0; i < m; i += BNL)
    for (j = 0; j < BNL; j++) acc[j] += x[i + j];
  for (j = 0; i + j < n; j++) acc[j] += x[i + j];
  return lanes8(acc);
}

LN_CLONES static double bn_sqdev(const float *x, size_t n, double mu) {
  double acc[BNL] = { 0 };
  size_t i, j, m = n - n % BNL;
  for (i = 0; i < m; i += BNL)
    for (j = 0; j < BNL; j++) {
      double d = (double)x[i + j] - mu;
      acc[j] += d * d;
    }
  for (j = 0; i + j < n; j++) {
    double d = (double)x[i + j] - mu;
    acc[j] += d * d;
  }
  return lanes8(acc);
}

/* sum of dy and of dy * xhat over n values */
LN_CLONES static void bn_sums2(const float *dy, const float *xh, size_t n, double *sb, double *sg) {
  double a[BNL] = { 0 }, b[BNL] = { 0 };
  size_t i, j, m = n - n % BNL;
  for (i = 0; i < m; i += BNL)
    for (j = 0; j < BNL; j++) {
      a[j] += dy[i + j];
      b[j] += (double)dy[i + j] * xh[i + j];
    }
  for (j = 0; i + j < n; j++) {
    a[j] += dy[i + j];
    b[j] += (double)dy[i + j] * xh[i + j];
  }
  *sb += lanes8(a);
  *sg += lanes8(b);
}

LN_CLONES static void bn_norm(const float *x, size_t n, float m, float is, float g, float b, float *xhat,
                              float *y) {
  size_t i;
  for (i = 0; i < n; i++) {
    float xh = (x[i] - m) * is;
    if (xhat) xhat[i] = xh;
    y[i] = g * xh + b;
  }
}

LN_CLONES static void bn_dx(const float *dy, const float *xh, size_t n, float k, float mf, float db, float dg,
                            float *dx) {
  size_t i;
  for (i = 0; i < n; i++) dx[i] = k * (mf * dy[i] - db - xh[i] * dg);
}

void ln_bn_train_forward(size_t n, size_t ch, size_t inner, const float *x, const float *gamma, const float *beta,
                         double eps, size_t f0, size_t f1, float *mean, float *var, float *istd, float *xhat,
                         float *y) {
  size_t f, s, m = n * inner;
  for (f = f0; f < f1; f++) {
    double sum = 0.0, sq = 0.0, mu, v;
    float fm, fi;
    for (s = 0; s < n; s++) sum += bn_sum(x + (s * ch + f) * inner, inner);
    mu = sum / (double)m;
    for (s = 0; s < n; s++) sq += bn_sqdev(x + (s * ch + f) * inner, inner, mu);
    v = sq / (double)m;
    fm = (float)mu;
    fi = (float)(1.0 / sqrt(v + eps));
    mean[f] = fm;
    var[f] = (float)v;
    istd[f] = fi;
    for (s = 0; s < n; s++) {
      size_t at = (s * ch + f) * inner;
      bn_norm(x + at, inner, fm, fi, gamma[f], beta[f], xhat + at, y + at);
    }
  }
}

void ln_bn_infer(size_t n, size_t ch, size_t inner, const float *x, const float *gamma, const float *beta,
                 const float *rmean, const float *rvar, double eps, size_t f0, size_t f1, float *istd, float *xhat,
                 float *y) {
  size_t f, s;
  for (f = f0; f < f1; f++) {
    float fi = (float)(1.0 / sqrt((double)rvar[f] + eps));
    istd[f] = fi;
    for (s = 0; s < n; s++) {
      size_t at = (s * ch + f) * inner;
      bn_norm(x + at, inner, rmean[f], fi, gamma[f], beta[f], xhat ? xhat + at : NULL, y + at);
    }
  }
}

void ln_bn_backward(size_t n, size_t ch, size_t inner, const float *dy, const float *xhat, const float *gamma,
                    const float *istd, size_t f0, size_t f1, float *dgamma, float *dbeta, float *dx) {
  size_t f, s, m = n * inner;
  for (f = f0; f < f1; f++) {
    double sb = 0.0, sg = 0.0;
    float db, dg, k;
    for (s = 0; s < n; s++) {
      size_t at = (s * ch + f) * inner;
      bn_sums2(dy + at, xhat + at, inner, &sb, &sg);
    }
    db = (float)sb;
    dg = (float)sg;
    dbeta[f] = db;
    dgamma[f] = dg;
    k = gamma[f] * istd[f] / (float)m;
    for (s = 0; s < n; s++) {
      size_t at = (s * ch + f) * inner;
      bn_dx(dy + at, xhat + at, inner, k, (float)m, db, dg, dx + at);
    }
  }
}

void ln_bn_backward_affine(size_t n, size_t ch, size_t inner, const float *dy, const float *xhat,
                           const float *gamma, const float *istd, size_t f0, size_t f1, float *dgamma, float *dbeta,
                           float *dx) {
  size_t f, s, i;
  for (f = f0; f < f1; f++) {
    double sb = 0.0, sg = 0.0;
    float k = gamma[f] * istd[f];
    for (s = 0; s < n; s++) {
      size_t at = (s * ch + f) * inner;
      bn_sums2(dy + at, xhat + at, inner, &sb, &sg);
      for (i = 0; i < inner; i++) dx[at + i] = k * dy[at + i];
    }
    dbeta[f] = (float)sb;
    dgamma[f] = (float)sg;
  }
}
