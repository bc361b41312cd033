/*
** idx.c: IDX files (the MNIST format), plain or gzip'd (zlib's inflate,
** which also tells where the gzip stream ends, so trailing bytes are seen),
** read straight into a float array, in chunks of a stack buffer.  Every
** header field is checked against the file's real size.
**
** Filling a fresh 188 MB tensor costs as much in the kernel (page faults,
** zeroing pages) as inflating the data; for a big destination a second
** thread prefaults it ahead of the decoder with MADV_POPULATE_WRITE (Linux
** 5.14+; it maps pages without touching their contents, so it cannot race
** with the writes), and the two costs overlap on two cores.
*/
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "vect-cost-model=dynamic") /* the u8 -> float loop */
#endif
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#endif
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <zlib.h>
#include "fileio.h"
#include "image.h"

#define CHUNK (64 * 1024)  /* a multiple of every element size */
#define PREFAULT_MIN ((size_t)16 << 20)   /* destinations from this size are prefaulted */
#define PREFAULT_STEP ((size_t)4 << 20)   /* by a thread, in steps of this size */
#define INCHUNK (64 * 1024) /* compressed bytes read at a time */

/* message into r->err, returns -1 */
static int fail(ln_IdxReader *r, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;

static int fail(ln_IdxReader *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err, sizeof r->err, fmt, ap);
  va_end(ap);
  return -1;
}

/* read up to n bytes of the file into buf (fewer only at its end); -1 on error */
static long rawread(ln_IdxReader *r, unsigned char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(r->fd, buf + got, n - got);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return fail(r, "%s", strerror(errno));
    if (k == 0) break;
    got += (size_t)k;
  }
  r->inread += got;
  return (long)got;
}

/* gzipped: after a gzip member's end, another member may follow (gzip -d
** reads them all); anything else is trailing data.  0, or -1 */
static int next_member(ln_IdxReader *r, z_stream *z) {
  long k;
  if (z->avail_in < 2) { /* the next two bytes decide */
    if (z->avail_in == 1) r->in[0] = z->next_in[0];
    k = rawread(r, r->in + z->avail_in, INCHUNK - z->avail_in);
    if (k < 0) return -1;
    z->next_in = r->in;
    z->avail_in += (uInt)k;
  }
  if (z->avail_in == 0) { r->zend = 1; return 0; }
  if (z->avail_in >= 2 && z->next_in[0] == 0x1f && z->next_in[1] == 0x8b) return inflateReset(z) == Z_OK ? 0 : fail(r, "zlib: cannot reset");
  return fail(r, "trailing data: %llu bytes after the gzip stream",
              (unsigned long long)(r->filesize - (r->inread - z->avail_in)));
}

/* up to n bytes of the IDX contents into buf (inflated when gzipped);
** fewer only at their end; -1 on error (message in err) */
static long src_read(ln_IdxReader *r, unsigned char *buf, size_t n) {
  z_stream *z = (z_stream *)r->z;
  if (!r->gzipped) return rawread(r, buf, n);
  z->next_out = buf;
  z->avail_out = (uInt)n;
  while (z->avail_out > 0 && !r->zend) {
    int rc;
    if (z->avail_in == 0) {
      long k = rawread(r, r->in, INCHUNK);
      if (k < 0) return -1;
      if (k == 0) return fail(r, "truncated: the gzip stream ends before its end marker");
      z->next_in = r->in;
      z->avail_in = (uInt)k;
    }
    rc = inflate(z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      if (next_member(r, z) != 0) return -1;
    } else if (rc != Z_OK) {
      return fail(r, "corrupt gzip data: %s", z->msg ? z->msg : "inflate failed");
    }
  }
  return (long)(n - z->avail_out);
}

/* bytes per element of an IDX type code (0: unknown) */
size_t ln_idx_typesize(int type) {
  switch (type) {
    case LN_IDX_U8: case LN_IDX_I8: return 1;
    case LN_IDX_I16: return 2;
    case LN_IDX_I32: case LN_IDX_F32: return 4;
    case LN_IDX_F64: return 8;
    default: return 0;
  }
}

/* check the magic, type, rank and dimensions of an IDX header */
long ln_idx_parse(const unsigned char *buf, size_t len, ln_IdxReader *r, size_t *need) {
  size_t hdr, count = 1, es;
  int i, nd;
  if (len < 4) { *need = 4; return 0; }
  if (buf[0] != 0 || buf[1] != 0)
    return fail(r, "bad magic number %02x %02x %02x %02x (an IDX file starts with 00 00 <type> <ndim>)",
                buf[0], buf[1], buf[2], buf[3]);
  es = ln_idx_typesize(buf[2]);
  if (es == 0)
    return fail(r, "unknown element type 0x%02x (expected 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64)", buf[2]);
  nd = buf[3];
  if (nd < 1 || nd > 4) return fail(r, "header declares %d dimensions (lunet reads 1 to 4)", nd);
  hdr = 4 + 4 * (size_t)nd;
  if (len < hdr) { *need = hdr; return 0; }
  for (i = 0; i < nd; i++) {
    const unsigned char *p = buf + 4 + 4 * i;
    uint32_t d = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    if (d == 0) return fail(r, "dimension %d is 0", i + 1);
    if (d > ((size_t)1 << 40) / count)
      return fail(r, "dimensions overflow (the product exceeds 2^40 elements at dimension %d)", i + 1);
    count *= d;
    r->dims[i] = d;
  }
  r->type = buf[2];
  r->esize = es;
  r->ndim = nd;
  r->count = count;
  return (long)hdr;
}

/* big-endian elements to floats */
void ln_idx_decode(int type, const unsigned char *s, size_t n, float *d) {
  size_t i;
  switch (type) {
    case LN_IDX_U8:
      for (i = 0; i < n; i++) d[i] = (float)s[i];
      break;
    case LN_IDX_I8:
      for (i = 0; i < n; i++) d[i] = (float)(s[i] < 128 ? (int)s[i] : (int)s[i] - 256);
      break;
    case LN_IDX_I16:
      for (i = 0; i < n; i++, s += 2) {
        int v = (s[0] << 8) | s[1];
        d[i] = (float)(v < 32768 ? v : v - 65536);
      }
      break;
    case LN_IDX_I32:
      for (i = 0; i < n; i++, s += 4) {
        uint32_t u = ((uint32_t)s[0] << 24) | ((uint32_t)s[1] << 16) | ((uint32_t)s[2] << 8) | s[3];
        int64_t v = u < 0x80000000u ? (int64_t)u : (int64_t)u - 4294967296LL;
        d[i] = (float)v;
      }
      break;
    case LN_IDX_F32:
      for (i = 0; i < n; i++, s += 4) {
        uint32_t u = ((uint32_t)s[0] << 24) | ((uint32_t)s[1] << 16) | ((uint32_t)s[2] << 8) | s[3];
        float f;
        memcpy(&f, &u, 4);
        d[i] = f;
      }
      break;
    case LN_IDX_F64:
      for (i = 0; i < n; i++, s += 8) {
        uint64_t u = 0;
        double f;
        int k;
        for (k = 0; k < 8; k++) u = (u << 8) | s[k];
        memcpy(&f, &u, 8);
        d[i] = (float)f;
      }
      break;
    default:
      break;
  }
}

/* a closed reader */
void ln_idx_init(ln_IdxReader *r) {
  memset(r, 0, sizeof *r);
}

/* close the file and the stream (safe twice) */
void ln_idx_close(ln_IdxReader *r) {
  if (r->z) { inflateEnd((z_stream *)r->z); free(r->z); }
  free(r->in);
  if (r->open) close(r->fd);
  r->z = NULL;
  r->in = NULL;
  r->open = 0;
}

/* open, read the header, check the declared size against the file */
int ln_idx_open(ln_IdxReader *r, const char *path) {
  unsigned char hdr[4 + 4 * 4], magic[2];
  struct stat st;
  size_t have = 0, need = 4;
  long hlen;
  uint64_t bytes;
  int fd = ln_open_regular(AT_FDCWD, path, r->err, sizeof r->err);
  if (fd < 0) return -1;
  r->fd = fd;
  r->open = 1;
  if (fstat(fd, &st) != 0) return fail(r, "%s", strerror(errno));
  r->filesize = (uint64_t)st.st_size;
  r->gzipped = pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (r->gzipped) {
    z_stream *z = (z_stream *)calloc(1, sizeof *z);
    r->in = (unsigned char *)malloc(INCHUNK);
    r->z = z;
    if (z == NULL || r->in == NULL) return fail(r, "out of memory");
    if (inflateInit2(z, 16 + MAX_WBITS) != Z_OK) { free(z); r->z = NULL; return fail(r, "zlib: cannot start inflating"); }
  }
  for (;;) {
    long got = src_read(r, hdr + have, need - have);
    if (got < 0) return -1;
    have += (size_t)got;
    if (have < need)
      return fail(r, "truncated: %zu bytes, too short for the IDX header (%zu bytes)", have, need);
    hlen = ln_idx_parse(hdr, have, r, &need);
    if (hlen < 0) return -1;
    if (hlen > 0) break;
  }
  if (r->count > UINT64_MAX / r->esize) return fail(r, "dimensions overflow");
  bytes = (uint64_t)r->count * r->esize;
  if (!r->gzipped) {
    uint64_t holds = r->filesize - (uint64_t)hlen;
    if (holds < bytes)
      return fail(r, "truncated: header declares %llu bytes of data, file holds %llu",
                  (unsigned long long)bytes, (unsigned long long)holds);
    if (holds > bytes)
      return fail(r, "trailing data: header declares %llu bytes of data, file holds %llu",
                  (unsigned long long)bytes, (unsigned long long)holds);
  } else {
    uint64_t most = r->filesize * LN_IDX_MAX_RATIO + 65536;
    if (bytes > most)
      return fail(r, "truncated: header declares %llu bytes of data, a gzip file of %llu bytes holds at most %llu "
                  "(lunet reads gzip'd IDX files up to %d times their size: real ones compress by a small factor)",
                  (unsigned long long)bytes, (unsigned long long)r->filesize, (unsigned long long)most,
                  LN_IDX_MAX_RATIO);
  }
  return 0;
}

/* MADV_HUGEPAGE over the 2 MiB-aligned interior of [p, p + n) */
void ln_hint_hugepages(void *p, size_t n) {
#if defined(__linux__) && defined(MADV_HUGEPAGE) && !defined(LN_NO_HUGEPAGES)
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), e = ((uintptr_t)p + n) & ~(huge - 1);
  if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
  (void)p; (void)n;
#endif
}

#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
/* the prefaulting thread's range and stop flag */
typedef struct Prefault {
  pthread_mutex_t mu;
  int stop;
  uintptr_t from, to;     /* page-aligned */
} Prefault;

/* prefault [from, to) in steps until done, stopped or refused */
static void *prefault_run(void *arg) {
  Prefault *p = (Prefault *)arg;
  uintptr_t a;
  for (a = p->from; a < p->to; a += PREFAULT_STEP) {
    size_t len = p->to - a < PREFAULT_STEP ? p->to - a : PREFAULT_STEP;
    int stop;
    pthread_mutex_lock(&p->mu);
    stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    if (stop || madvise((void *)a, len, MADV_POPULATE_WRITE) != 0) break;
  }
  return NULL;
}
#endif

/* the decoding loop of ln_idx_read */
static int read_body(ln_IdxReader *r, float *out) {
  unsigned char buf[CHUNK];
  uint64_t total = (uint64_t)r->count * r->esize, done = 0;
  long got;
  while (done < total) {
    size_t want = total - done < CHUNK ? (size_t)(total - done) : CHUNK;
    got = src_read(r, buf, want);
    if (got < 0) return -1;
    ln_idx_decode(r->type, buf, (size_t)got / r->esize, out);
    out += (size_t)got / r->esize;
    done += (uint64_t)got;
    if ((size_t)got < want)
      return fail(r, "truncated: header declares %llu bytes of data, file holds %llu",
                  (unsigned long long)total, (unsigned long long)done);
  }
  got = src_read(r, buf, 1); /* also makes zlib check the gzip trailer */
  if (got < 0) return -1;
  if (got > 0) {
    uint64_t extra = (uint64_t)got;
    while ((got = src_read(r, buf, CHUNK)) > 0) extra += (uint64_t)got;
    if (got < 0) return -1;
    return fail(r, "trailing data: header declares %llu bytes of data, file holds %llu",
                (unsigned long long)total, (unsigned long long)(total + extra));
  }
  return 0;
}

/* stream exactly the declared bytes into out in CHUNK pieces, then
** check the stream ends there; a big out is prefaulted by a second thread */
int ln_idx_read(ln_IdxReader *r, float *out) {
  size_t bytes = r->count * sizeof(float);
  int rc;
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
  Prefault pf;
  pthread_t th;
  int started = 0;
#endif
  if (!r->open) return fail(r, "reader is closed");
  ln_hint_hugepages(out, bytes);
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
  if (bytes >= PREFAULT_MIN) {
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t pg = page > 0 ? (uintptr_t)page : 4096;
    pf.stop = 0;
    /* the first step is the decoder's own; the helper starts after it */
    pf.from = ((uintptr_t)out + PREFAULT_STEP + pg - 1) & ~(pg - 1);
    pf.to = ((uintptr_t)out + bytes) & ~(pg - 1);
    if (pthread_mutex_init(&pf.mu, NULL) == 0) {
      started = pthread_create(&th, NULL, prefault_run, &pf) == 0;
      if (!started) pthread_mutex_destroy(&pf.mu);
    }
  }
#endif
  rc = read_body(r, out);
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
  if (started) {
    pthread_mutex_lock(&pf.mu);
    pf.stop = 1;
    pthread_mutex_unlock(&pf.mu);
    pthread_join(th, NULL);
    pthread_mutex_destroy(&pf.mu);
  }
#endif
  return rc;
}
