/*
** png.c: PNG decoding and encoding through libpng.  libpng's errors longjmp
** back into the function that called it (png_jmpbuf), which returns -1 with
** the message in the reader; everything the reader allocated is released by
** ln_png_close, so a caller can own a reader from a garbage-collected box.
**
** Fast path: a small regular file is read whole into the reader's buffer
** (one open, fstat, read, close).  When its chunks are exactly what a
** plain 8-bit, non-interlaced gray / gray+alpha / RGB / RGBA image needs
** (IHDR, contiguous IDATs, IEND with correct CRCs; ancillary chunks other
** than tRNS skipped), the IDAT stream is inflated in one zlib call (adler32
** checked by zlib) and unfiltered here; libpng's row-by-row inflate of tiny
** rows cost more than the rest of the decode.  Anything else, and any
** failure on the way (bad CRC, corrupt or short or overlong data, unknown
** filter byte), restarts the decode with libpng on the same bytes, so
** errors and unusual files behave exactly as libpng decides.
*/
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "image.h"

#define DEFLATE_MAX_RATIO 1032u /* deflate never expands more than this */

/* ============================================================ reading */

/* libpng error callback: keep the message, jump back */
static void on_error(png_structp png, png_const_charp msg) {
  ln_PngReader *r = (ln_PngReader *)png_get_error_ptr(png);
  if (r->warn[0]) snprintf(r->err, sizeof r->err, "%s (%.120s)", msg, r->warn);
  else snprintf(r->err, sizeof r->err, "%s", msg);
  png_longjmp(png, 1);
}

/* libpng warning callback for reading: kept to explain a later error
** (e.g. "Invalid IHDR data" after "Image width exceeds user limit") */
static void on_read_warning(png_structp png, png_const_charp msg) {
  ln_PngReader *r = (ln_PngReader *)png_get_error_ptr(png);
  snprintf(r->warn, sizeof r->warn, "%s", msg);
}

/* libpng warnings while writing are ignored */
static void on_warning(png_structp png, png_const_charp msg) {
  (void)png; (void)msg;
}

/* read n bytes from the file or the memory buffer; returns bytes read */
static size_t rawread(ln_PngReader *r, unsigned char *out, size_t n) {
  if (r->fp) return fread(out, 1, n, r->fp);
  if (n > r->memlen - r->mempos) n = r->memlen - r->mempos;
  memcpy(out, r->mem + r->mempos, n);
  r->mempos += n;
  return n;
}

/* libpng read callback */
static void read_data(png_structp png, png_bytep out, size_t n) {
  ln_PngReader *r = (ln_PngReader *)png_get_io_ptr(png);
  if (rawread(r, out, n) != n) {
    if (r->fp && ferror(r->fp)) png_error(png, strerror(errno));
    png_error(png, "truncated (unexpected end of file)");
  }
}

/* a closed reader */
void ln_png_init(ln_PngReader *r) {
  memset(r, 0, sizeof *r);
}

/* release what one image needs (libpng structs, row buffers, the file);
** the reusable buffers and the zlib stream stay (safe twice) */
void ln_png_done(ln_PngReader *r) {
  if (r->png) {
    png_structp png = (png_structp)r->png;
    png_infop info = (png_infop)r->info;
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
  }
  r->png = r->info = NULL;
  free(r->buf); r->buf = NULL;
  free(r->rows); r->rows = NULL;
  if (r->fp) fclose(r->fp);
  r->fp = NULL;
  r->mem = NULL;
  r->fast = 0;
}

/* release everything (safe twice) */
void ln_png_close(ln_PngReader *r) {
  ln_png_done(r);
  if (r->z) {
    inflateEnd((z_stream *)r->z);
    free(r->z);
  }
  r->z = NULL;
  free(r->file); r->file = NULL; r->filecap = 0;
  free(r->raw); r->raw = NULL; r->rawcap = 0;
}

/* format into r->err, returns -1 */
static int fail(ln_PngReader *r, const char *msg) {
  snprintf(r->err, sizeof r->err, "%s", msg);
  return -1;
}

/* read the signature and header with libpng, set the transforms (setjmp
** inside) */
static int open_common(ln_PngReader *r, int gray) {
  unsigned char sig[8];
  png_structp png;
  png_infop info;
  png_uint_32 w, h;
  int depth, ctype, interlace, inch;
  uint64_t raw;
  if (rawread(r, sig, 8) != 8 || png_sig_cmp(sig, 0, 8) != 0)
    return fail(r, "not a PNG file (bad signature)");
  png = png_create_read_struct(PNG_LIBPNG_VER_STRING, r, on_error, on_read_warning);
  if (png == NULL) return fail(r, "out of memory");
  r->png = png;
  info = png_create_info_struct(png);
  if (info == NULL) return fail(r, "out of memory");
  r->info = info;
  if (setjmp(png_jmpbuf(png))) return -1;
  png_set_user_limits(png, LN_PNG_MAXDIM, LN_PNG_MAXDIM);
  png_set_chunk_malloc_max(png, LN_PNG_CHUNK_MAX);
  png_set_read_fn(png, r, read_data);
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
  inch = png_get_channels(png, info);
  /* a small file cannot hold a huge image: deflate's ratio is bounded */
  raw = (uint64_t)h * (((uint64_t)w * (uint64_t)inch * (uint64_t)depth + 7) / 8 + 1);
  if (raw / DEFLATE_MAX_RATIO > r->srcsize + 1024) {
    snprintf(r->err, sizeof r->err,
             "header declares %lux%lu pixels (%llu bytes of pixel data) but the file holds only %llu bytes",
             (unsigned long)w, (unsigned long)h, (unsigned long long)raw, (unsigned long long)r->srcsize);
    return -1;
  }
  r->width = w;
  r->height = h;
  r->src_color = (ctype & PNG_COLOR_MASK_COLOR) != 0;
  r->src_alpha = (ctype & PNG_COLOR_MASK_ALPHA) != 0 || png_get_valid(png, info, PNG_INFO_tRNS);
  r->gray = gray;
  if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (!(ctype & PNG_COLOR_MASK_COLOR) && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (gray || (!r->src_color && !r->src_alpha)) r->channels = 1;
  else r->channels = r->src_alpha ? 4 : 3;
  (void)png_set_interlace_handling(png);
  png_read_update_info(png, info);
  return 0;
}

/* big-endian 32-bit value */
static uint32_t be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Scan the chunks of the memory source for the fast path: 1 when the file
** is a plain 8-bit non-interlaced image with valid CRCs on IHDR, IDAT and
** IEND (fields set, IDAT span noted), 0 when libpng must decode it. */
static int fast_scan(ln_PngReader *r, int gray) {
  static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
  const unsigned char *p = r->mem, *ihdr;
  size_t n = r->memlen, pos = 8, first = 0, last = 0, idat_limit;
  int state = 0; /* 0 before IDAT, 1 in the IDAT run, 2 after it */
  uint32_t w, h;
  int ctype, inch;
  if (r->nofast || n < 8 + 25 + 12 || memcmp(p, sig, 8) != 0) return 0;
  ihdr = p + 8;
  if (be32(ihdr) != 13 || memcmp(ihdr + 4, "IHDR", 4) != 0 ||
      (uint32_t)crc32(0L, ihdr + 4, 17) != be32(ihdr + 21))
    return 0;
  w = be32(ihdr + 8);
  h = be32(ihdr + 12);
  ctype = ihdr[17];
  if (w < 1 || h < 1 || w > LN_PNG_MAXDIM || h > LN_PNG_MAXDIM || ihdr[16] != 8 ||
      ihdr[18] != 0 || ihdr[19] != 0 || ihdr[20] != 0)
    return 0;
  switch (ctype) {
    case 0: inch = 1; break;
    case 2: inch = 3; break;
    case 4: inch = 2; break;
    case 6: inch = 4; break;
    default: return 0;
  }
  if ((uint64_t)h * ((uint64_t)w * (uint64_t)inch + 1) > LN_PNG_FASTRAW) return 0;
  /* libpng's bound on one IDAT chunk (png_check_chunk_length) */
  idat_limit = (size_t)h * ((size_t)w * (size_t)inch + 1);
  idat_limit += 6 + 5 * (idat_limit / ((size_t)w * (size_t)inch + 1) + 1);
  pos = 8 + 25;
  for (;;) {
    uint32_t len;
    const unsigned char *c = p + pos;
    if (n - pos < 12) return 0;
    len = be32(c);
    if (len > n - pos - 12) return 0;
    if (memcmp(c + 4, "IDAT", 4) == 0) {
      if (state == 2) return 0;
      if (state == 0) first = pos;
      state = 1;
      last = pos;
      if (len > idat_limit) return 0; /* libpng: "chunk data is too large" */
      if ((uint32_t)crc32(0L, c + 4, 4 + len) != be32(c + 8 + len)) return 0;
    } else if (memcmp(c + 4, "IEND", 4) == 0) {
      if (state == 0 || len != 0 || (uint32_t)crc32(0L, c + 4, 4) != be32(c + 8)) return 0;
      break;
    } else {
      /* critical chunks (PLTE, unknown), tRNS, names libpng rejects and
      ** bad CRCs are libpng's business; other ancillary chunks change
      ** nothing in the decoded pixels */
      int k;
      for (k = 4; k < 8; k++)
        if (!((c[k] >= 'A' && c[k] <= 'Z') || (c[k] >= 'a' && c[k] <= 'z'))) return 0;
      if (!(c[4] & 0x20) || memcmp(c + 4, "tRNS", 4) == 0) return 0;
      if ((uint32_t)crc32(0L, c + 4, 4 + len) != be32(c + 8 + len)) return 0;
      if (state == 1) state = 2;
    }
    pos += 12 + (size_t)len;
  }
  r->width = w;
  r->height = h;
  r->src_color = (ctype & 2) != 0;
  r->src_alpha = (ctype & 4) != 0;
  r->gray = gray;
  r->channels = gray || (!r->src_color && !r->src_alpha) ? 1 : r->src_alpha ? 4 : 3;
  r->inch = inch;
  r->idat_first = first;
  r->idat_last = last;
  r->fast = 1;
  return 1;
}

/* read the signature and header: the fast path's scan for memory sources,
** else libpng */
static int open_source(ln_PngReader *r, int gray) {
  if (r->mem && fast_scan(r, gray)) return 0;
  return open_common(r, gray);
}

/* open a file source, note its size, read the header.  Small regular files
** are read whole into the reader's buffer and decoded from memory. */
int ln_png_open_at(ln_PngReader *r, int dirfd, const char *path, int gray) {
  struct stat st;
  long size;
  int fd;
  r->warn[0] = r->err[0] = '\0';
  fd = openat(dirfd, path, O_RDONLY);
  if (fd < 0) return fail(r, strerror(errno));
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= (off_t)LN_PNG_SMALL) {
    size_t want = (size_t)st.st_size, got = 0;
    if (r->filecap < want || r->file == NULL) {
      size_t cap = want < 4096 ? 4096 : want;
      unsigned char *f = (unsigned char *)malloc(cap);
      if (f == NULL) { close(fd); return fail(r, "out of memory"); }
      free(r->file);
      r->file = f;
      r->filecap = cap;
    }
    while (got < want) {
      ssize_t k = read(fd, r->file + got, want - got);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) { int e = errno; close(fd); return fail(r, strerror(e)); }
      if (k == 0) break;
      got += (size_t)k;
    }
    close(fd);
    r->mem = r->file;
    r->memlen = got;
    r->mempos = 0;
    r->srcsize = got;
    return open_source(r, gray);
  }
  r->fp = fdopen(fd, "rb");
  if (r->fp == NULL) { int e = errno; close(fd); return fail(r, strerror(e)); }
  if (fseek(r->fp, 0, SEEK_END) != 0 || (size = ftell(r->fp)) < 0 || fseek(r->fp, 0, SEEK_SET) != 0)
    return fail(r, errno == EISDIR || errno == ESPIPE ? strerror(errno) : "cannot determine the file size");
  r->srcsize = (uint64_t)size;
  return open_common(r, gray);
}

/* open a file source by path */
int ln_png_open(ln_PngReader *r, const char *path, int gray) {
  return ln_png_open_at(r, AT_FDCWD, path, gray);
}

/* a memory source (fuzzing, embedded data) */
int ln_png_open_mem(ln_PngReader *r, const void *data, size_t len, int gray) {
  r->warn[0] = r->err[0] = '\0';
  r->mem = (const unsigned char *)data;
  r->memlen = len;
  r->mempos = 0;
  r->srcsize = len;
  return open_source(r, gray);
}

/* one decoded row (8- or 16-bit, inch channels) into out */
static void convert_row(const ln_PngReader *r, const unsigned char *p, int inch, int depth, float *out) {
  size_t x, w = r->width;
  int c = r->channels, k;
  if (depth == 8 && inch == c) { /* no conversion: a vectorisable copy */
    size_t n = w * (size_t)c;
    for (x = 0; x < n; x++) out[x] = (float)p[x];
    return;
  }
  for (x = 0; x < w; x++) {
    double v[4];
    for (k = 0; k < inch; k++) /* 16-bit: exact 0 and 255 at the ends */
      v[k] = depth == 16 ? ((p[2 * k] << 8) | p[2 * k + 1]) * 255.0 / 65535.0 : (double)p[k];
    p += (size_t)inch * (depth == 16 ? 2 : 1);
    if (c == 1) {
      out[0] = (float)(inch >= 3 ? 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2] : v[0]);
    } else if (inch >= 3) {
      for (k = 0; k < c; k++) out[k] = (float)v[k];
    } else { /* gray + alpha into RGBA */
      out[0] = out[1] = out[2] = (float)v[0];
      out[3] = (float)v[1];
    }
    out += c;
  }
}

/* undo the PNG filter of one row (n bytes, bpp bytes per pixel) in place;
** prev is the previous unfiltered row or NULL (the first row, whose
** predecessor is all zeros); 0, or -1 on a bad filter type */
static int unfilter(int type, unsigned char *restrict row, const unsigned char *restrict prev,
                    size_t n, size_t bpp) {
  size_t i;
  if (prev == NULL) { /* Up adds 0, Paeth predicts the left byte (Sub) */
    if (type == 2) type = 0;
    else if (type == 4) type = 1;
    else if (type == 3) {
      for (i = bpp; i < n; i++) row[i] = (unsigned char)(row[i] + (row[i - bpp] >> 1));
      return 0;
    }
  }
  switch (type) {
    case 0: return 0;
    case 1:
      for (i = bpp; i < n; i++) row[i] = (unsigned char)(row[i] + row[i - bpp]);
      return 0;
    case 2:
      for (i = 0; i < n; i++) row[i] = (unsigned char)(row[i] + prev[i]);
      return 0;
    case 3:
      for (i = 0; i < bpp && i < n; i++) row[i] = (unsigned char)(row[i] + (prev[i] >> 1));
      for (; i < n; i++) row[i] = (unsigned char)(row[i] + (((unsigned)row[i - bpp] + prev[i]) >> 1));
      return 0;
    case 4:
      for (i = 0; i < bpp && i < n; i++) row[i] = (unsigned char)(row[i] + prev[i]);
      for (; i < n; i++) {
        int a = row[i - bpp], b = prev[i], c = prev[i - bpp];
        int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
        int pred = pb < pa ? b : a;
        int pm = pb < pa ? pb : pa;
        row[i] = (unsigned char)(row[i] + (pc < pm ? c : pred));
      }
      return 0;
    default:
      return -1;
  }
}

/* the fast decode: inflate all IDAT data at once, unfilter, convert;
** 0 ok, 1 when libpng must decide (nothing reported) */
static int fast_read(ln_PngReader *r, float *out) {
  size_t bpp = (size_t)r->inch, rowbytes = r->width * bpp, stride = rowbytes + 1;
  size_t rawlen = r->height * stride, y, pos;
  z_stream *z = (z_stream *)r->z;
  unsigned char *prev = NULL;
  int rc = Z_OK;
  if (r->rawcap < rawlen || r->raw == NULL) {
    unsigned char *b = (unsigned char *)malloc(LN_PNG_FASTRAW);
    if (b == NULL) return 1;
    free(r->raw);
    r->raw = b;
    r->rawcap = LN_PNG_FASTRAW;
  }
  if (z == NULL) {
    z = (z_stream *)calloc(1, sizeof *z);
    if (z == NULL) return 1;
    if (inflateInit(z) != Z_OK) { free(z); return 1; }
    r->z = z;
  } else if (inflateReset(z) != Z_OK) {
    return 1;
  }
  z->next_out = r->raw;
  z->avail_out = (uInt)rawlen;
  for (pos = r->idat_first; pos <= r->idat_last; ) { /* the IDAT run, in order */
    uint32_t len = be32(r->mem + pos);
    z->next_in = (Bytef *)(uintptr_t)(r->mem + pos + 8);
    z->avail_in = len;
    rc = inflate(z, pos == r->idat_last ? Z_FINISH : Z_NO_FLUSH);
    if (rc == Z_BUF_ERROR && len == 0) rc = Z_OK;
    if (rc != Z_OK && rc != Z_STREAM_END) return 1;
    if (rc == Z_STREAM_END && (pos != r->idat_last || z->avail_in != 0)) return 1;
    pos += 12 + (size_t)len;
  }
  if (rc != Z_STREAM_END || z->avail_out != 0) return 1;
  for (y = 0; y < r->height; y++) {
    unsigned char *row = r->raw + y * stride;
    if (unfilter(row[0], row + 1, prev, rowbytes, bpp) != 0) return 1;
    prev = row + 1;
  }
  for (y = 0; y < r->height; y++)
    convert_row(r, r->raw + y * stride + 1, r->inch, 8, out + y * r->width * (size_t)r->channels);
  return 0;
}

/* decode all rows into out (row by row, or the whole image when interlaced) */
int ln_png_read(ln_PngReader *r, float *out) {
  png_structp png;
  png_infop info;
  size_t rowbytes, y, rowfloats = r->width * (size_t)r->channels;
  int inch, depth, passes;
  if (r->fast) {
    size_t w = r->width, h = r->height;
    int c = r->channels;
    if (fast_read(r, out) == 0) return 0;
    /* libpng decides about this file: from its first byte again */
    r->fast = 0;
    r->mempos = 0;
    if (open_common(r, r->gray) != 0) return -1;
    if (r->width != w || r->height != h || r->channels != c)
      return fail(r, "inconsistent header");
  }
  png = (png_structp)r->png;
  info = (png_infop)r->info;
  if (png == NULL || info == NULL) return fail(r, "reader is not open");
  if (setjmp(png_jmpbuf(png))) return -1;
  rowbytes = png_get_rowbytes(png, info);
  inch = png_get_channels(png, info);
  depth = png_get_bit_depth(png, info);
  passes = png_get_interlace_type(png, info) == PNG_INTERLACE_NONE ? 1 : 7;
  if (passes == 1) {
    r->buf = (unsigned char *)malloc(rowbytes);
    if (r->buf == NULL) return fail(r, "out of memory");
    for (y = 0; y < r->height; y++) {
      png_read_row(png, r->buf, NULL);
      convert_row(r, r->buf, inch, depth, out + y * rowfloats);
    }
  } else {
    if (r->height > SIZE_MAX / rowbytes) return fail(r, "image too large");
    r->buf = (unsigned char *)malloc(r->height * rowbytes);
    r->rows = (unsigned char **)malloc(r->height * sizeof *r->rows);
    if (r->buf == NULL || r->rows == NULL) return fail(r, "out of memory");
    for (y = 0; y < r->height; y++) r->rows[y] = r->buf + y * rowbytes;
    png_read_image(png, r->rows);
    for (y = 0; y < r->height; y++)
      convert_row(r, r->rows[y], inch, depth, out + y * rowfloats);
  }
  png_read_end(png, NULL);
  return 0;
}

/* ============================================================ writing */

typedef struct WState {
  FILE *fp;
  unsigned char *row;
  char *err;
  size_t errlen;
  int saved_errno;
} WState;

/* libpng error callback for writing */
static void w_error(png_structp png, png_const_charp msg) {
  WState *s = (WState *)png_get_error_ptr(png);
  if (s->saved_errno == 0) snprintf(s->err, s->errlen, "%s", msg);
  png_longjmp(png, 1);
}

/* libpng write callback: keeps errno of a failed fwrite */
static void w_data(png_structp png, png_bytep p, size_t n) {
  WState *s = (WState *)png_get_io_ptr(png);
  if (fwrite(p, 1, n, s->fp) != n) {
    s->saved_errno = errno ? errno : EIO;
    snprintf(s->err, s->errlen, "%s", strerror(s->saved_errno));
    png_error(png, "write failed");
  }
}

/* libpng flush callback: the caller flushes */
static void w_flush(png_structp png) {
  (void)png;
}

/* the body of ln_png_write, with setjmp (s->row is freed by the caller) */
static int write_body(png_structp png, png_infop info, WState *s, const float *data,
                      size_t h, size_t w, int c) {
  static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                               PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
  size_t y, i, n = w * (size_t)c;
  if (setjmp(png_jmpbuf(png))) return -1;
  png_set_write_fn(png, s, w_data, w_flush);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, types[c], PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (y = 0; y < h; y++) {
    const float *src = data + y * n;
    for (i = 0; i < n; i++) {
      float v = src[i];
      /* NaN goes to 0; round half away from zero */
      s->row[i] = (unsigned char)(v >= 255.0f ? 255 : v > 0.0f ? (int)(v + 0.5f) : 0);
    }
    png_write_row(png, s->row);
  }
  png_write_end(png, NULL);
  return 0;
}

/* encode an 8-bit PNG; frees everything before returning */
int ln_png_write(FILE *fp, const float *data, size_t h, size_t w, int c, char *err, size_t errlen) {
  WState s;
  png_structp png;
  png_infop info;
  int rc;
  s.fp = fp; s.row = NULL; s.err = err; s.errlen = errlen; s.saved_errno = 0;
  if (c < 1 || c > 4) { snprintf(err, errlen, "%d channels (expected 1 to 4)", c); return -1; }
  if (h < 1 || w < 1 || h > 0x7fffffff || w > 0x7fffffff / 4) {
    snprintf(err, errlen, "bad image size %zux%zu", h, w);
    return -1;
  }
  png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, w_error, on_warning);
  if (png == NULL) { snprintf(err, errlen, "out of memory"); return -1; }
  info = png_create_info_struct(png);
  s.row = (unsigned char *)malloc(w * (size_t)c);
  if (info == NULL || s.row == NULL) {
    png_destroy_write_struct(&png, info ? &info : NULL);
    free(s.row);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  rc = write_body(png, info, &s, data, h, w, c);
  png_destroy_write_struct(&png, &info);
  free(s.row);
  if (rc != 0 && s.saved_errno) errno = s.saved_errno;
  return rc;
}
