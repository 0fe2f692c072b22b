/*
 * error.h - the one error record that every layer below main() fills in.
 *
 * Functions return an int code (FS_OK == 0 on success) and, on failure, fill an
 * fs_error with a message and, where the failure comes from input, the file,
 * line, column and key path it refers to.  Only main() prints and exits, so a
 * library caller (sweep runner, tests) can collect errors instead of dying.
 *
 * Formatted, an input error reads
 *     file:line:col: key.path: what is wrong; expected ...
 * which is the form the bad-input corpus in tests/bad/ checks word for word.
 */
#ifndef FS_ERROR_H
#define FS_ERROR_H

#include <stddef.h>

enum fs_code {
	FS_OK = 0,
	FS_ERR_USAGE,    /* bad command line */
	FS_ERR_INPUT,    /* bad scenario, trace or other user file */
	FS_ERR_IO,       /* file system trouble */
	FS_ERR_HDF5,     /* the HDF5 library refused something */
	FS_ERR_NOMEM,    /* allocation failed */
	FS_ERR_RUN,      /* the simulation itself failed (model invariant, limit) */
	FS_ERR_INTERRUPTED, /* SIGINT/SIGTERM asked the run to stop */
	FS_ERR_INTERNAL  /* a bug */
};

typedef struct fs_error {
	int code;          /* enum fs_code */
	char message[768]; /* what is wrong; expected ... */
	char file[512];    /* source file of the input, "" when none */
	int line;          /* 1-based, 0 when unknown */
	int column;        /* 1-based, 0 when unknown */
	char key[256];     /* key path such as run.duration, "" when none */
} fs_error;

/* Reset to FS_OK with empty fields.  err may be NULL. */
void fs_error_clear(fs_error *err);

/* Fill err (if not NULL) and return code.  file/key may be NULL. */
int fs_error_set(fs_error *err, int code, const char *file, int line, int column,
		 const char *key, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* Shorthand for errors with no source location. */
int fs_error_msg(fs_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the message with more context ("while loading X: ..."). */
void fs_error_prefix(fs_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "file:line:col: key: message", dropping the parts that are empty. */
void fs_error_format(const fs_error *err, char *buf, size_t n);

/* A short name for a code ("bad input", "I/O error", ...). */
const char *fs_strerror(int code);

/* Process exit status for a code: 0 ok, 2 usage/input, 1 anything else. */
int fs_exit_status(int code);

#endif
