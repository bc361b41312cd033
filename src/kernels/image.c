/*
** image.c: image resizing over float arrays (rows x columns x channels,
** channels last).  No allocation: interpolation weights are computed on
** the fly, in double precision.
*/
#include <math.h>
#include "image.h"

/* OpenCV's source coordinate of destination index d: the lower source
** index in *i0, the next one in *i1 and the weight of *i1 in *f */
static void linear_coord(size_t d, double scale, size_t n, size_t *i0, size_t *i1, double *f) {
  double x = ((double)d + 0.5) * scale - 0.5;
  double fl = floor(x);
  double fr = x - fl;
  if (fl < 0) { fl = 0; fr = 0; }
  if (fl >= (double)(n - 1)) { fl = (double)(n - 1); fr = 0; }
  *i0 = (size_t)fl;
  *i1 = *i0 + 1 < n ? *i0 + 1 : *i0;
  *f = fr;
}

/* OpenCV INTER_LINEAR on floats */
void ln_resize_bilinear(const float *src, size_t sh, size_t sw, size_t c,
                        float *dst, size_t dh, size_t dw) {
  double sy_scale = (double)sh / (double)dh, sx_scale = (double)sw / (double)dw;
  size_t dy, dx, k;
  for (dy = 0; dy < dh; dy++) {
    size_t y0, y1;
    double fy;
    linear_coord(dy, sy_scale, sh, &y0, &y1, &fy);
    for (dx = 0; dx < dw; dx++) {
      size_t x0, x1;
      double fx;
      const float *a, *b, *cc, *d;
      linear_coord(dx, sx_scale, sw, &x0, &x1, &fx);
      a = src + (y0 * sw + x0) * c;
      b = src + (y0 * sw + x1) * c;
      cc = src + (y1 * sw + x0) * c;
      d = src + (y1 * sw + x1) * c;
      for (k = 0; k < c; k++) {
        double top = (1 - fx) * a[k] + fx * b[k];
        double bot = (1 - fx) * cc[k] + fx * d[k];
        dst[(dy * dw + dx) * c + k] = (float)((1 - fy) * top + fy * bot);
      }
    }
  }
}

/* area-weighted box average */
void ln_resize_area(const float *src, size_t sh, size_t sw, size_t c,
                    float *dst, size_t dh, size_t dw) {
  double sy_scale = (double)sh / (double)dh, sx_scale = (double)sw / (double)dw;
  size_t dy, dx, k, sy, sx;
  for (dy = 0; dy < dh; dy++) {
    double y0 = (double)dy * sy_scale, y1 = (double)(dy + 1) * sy_scale;
    size_t ya = (size_t)floor(y0), yb = (size_t)ceil(y1);
    if (yb > sh) yb = sh;
    for (dx = 0; dx < dw; dx++) {
      double x0 = (double)dx * sx_scale, x1 = (double)(dx + 1) * sx_scale;
      size_t xa = (size_t)floor(x0), xb = (size_t)ceil(x1);
      double acc[64];
      float *out = dst + (dy * dw + dx) * c;
      size_t kb;
      if (xb > sw) xb = sw;
      for (kb = 0; kb < c; kb += 64) { /* channels in blocks of 64 */
        size_t ke = c - kb < 64 ? c - kb : 64;
        double area = 0;
        for (k = 0; k < ke; k++) acc[k] = 0;
        for (sy = ya; sy < yb; sy++) {
          double wy = fmin(y1, (double)sy + 1) - fmax(y0, (double)sy);
          if (wy <= 0) continue;
          for (sx = xa; sx < xb; sx++) {
            double wx = fmin(x1, (double)sx + 1) - fmax(x0, (double)sx), wgt;
            const float *p = src + (sy * sw + sx) * c + kb;
            if (wx <= 0) continue;
            wgt = wx * wy;
            area += wgt;
            for (k = 0; k < ke; k++) acc[k] += wgt * p[k];
          }
        }
        for (k = 0; k < ke; k++) out[kb + k] = (float)(area > 0 ? acc[k] / area : 0);
      }
    }
  }
}
