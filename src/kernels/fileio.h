/*
** fileio.h: opening the files lunet's binary readers take (IDX, PNG,
** safetensors).  Plain POSIX, no Lua.
*/
#ifndef LUNET_FILEIO_H
#define LUNET_FILEIO_H

#include <stddef.h>

/* Open path (relative to dirfd, AT_FDCWD for the working folder) for
** reading, refusing what is not a regular file: the open never blocks (a
** FIFO without a writer would block forever), then fstat decides.  Returns
** a blocking descriptor, or -1 with the reason in err ("Is a directory",
** "not a regular file (a FIFO)", errno's text). */
int ln_open_regular(int dirfd, const char *path, char *err, size_t errlen);

/* Create or truncate path for writing, refusing what exists and is not a
** regular file (a FIFO would block, a device is no place for a file);
** never blocks.  Returns the descriptor, or -1 with the reason in err. */
int ln_create_regular(const char *path, char *err, size_t errlen);

/* "a FIFO", "a character device", ... for a st_mode that is not a regular file */
const char *ln_filekind(unsigned mode);

#endif

/* Saving a file whole or not at all.  ln_atomic_begin resolves symlinks
** (the save writes through a link to its target, as editors do), refuses a
** target that exists and is not a regular file, and opens an unnamed file
** in the target's folder (O_TMPFILE: a process killed while writing leaves
** nothing behind), or, where the file system refuses that, a file with a
** short temporary name (".lunet-XXXXXX", so any legal target name works).
** ln_atomic_commit syncs the data, gives the file its short name (linkat),
** renames it over the target and syncs the folder: only that moment leaves
** a temporary name behind.  ln_atomic_cancel removes what remains (safe at
** any time, twice too).  The caller writes to fd (and may hand fd to a FILE:
** then it sets fd to -1 and closes the FILE after the commit). */
#define LN_PATHMAX 4096
typedef struct ln_Atomic {
  int fd;                   /* the file being written; -1 once handed over or closed */
  int unnamed;              /* fd is an O_TMPFILE file (no name until the commit) */
  int tmplive;              /* tmp names a file that the cancel must remove */
  char target[LN_PATHMAX];  /* the path written, symlinks resolved */
  char tmp[LN_PATHMAX];     /* the temporary name in the target's folder */
} ln_Atomic;

void ln_atomic_init(ln_Atomic *a);
int ln_atomic_begin(ln_Atomic *a, const char *path, char *err, size_t errlen);
/* fd: the file's descriptor (a->fd, or the FILE's when handed over) */
int ln_atomic_commit(ln_Atomic *a, int fd, char *err, size_t errlen);
void ln_atomic_cancel(ln_Atomic *a);
