/*
 * error.c - filling and formatting fs_error records (see error.h).
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void fs_error_clear(fs_error *err)
{
	if (err)
		memset(err, 0, sizeof *err);
}

static void copy_field(char *dst, size_t n, const char *src)
{
	if (!src) {
		dst[0] = '\0';
		return;
	}
	snprintf(dst, n, "%s", src);
}

int fs_error_set(fs_error *err, int code, const char *file, int line, int column,
		 const char *key, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	copy_field(err->file, sizeof err->file, file);
	copy_field(err->key, sizeof err->key, key);
	err->line = line;
	err->column = column;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return code;
}

int fs_error_msg(fs_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	fs_error_clear(err);
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return code;
}

void fs_error_prefix(fs_error *err, const char *fmt, ...)
{
	if (!err)
		return;
	char buf[2 * sizeof err->message];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(buf, sizeof buf / 2, fmt, ap);
	va_end(ap);
	size_t used = k < 0 ? 0 : (size_t)k < sizeof buf / 2 ? (size_t)k : sizeof buf / 2 - 1;
	size_t rest = strlen(err->message);
	buf[used++] = ':';
	buf[used++] = ' ';
	memcpy(buf + used, err->message, rest + 1);
	/* truncated at the message's capacity if the two no longer fit */
	size_t total = used + rest;
	size_t cap = sizeof err->message - 1;
	memcpy(err->message, buf, total < cap ? total + 1 : cap);
	err->message[cap] = '\0';
}

void fs_error_format(const fs_error *err, char *buf, size_t n)
{
	if (n == 0)
		return;
	buf[0] = '\0';
	if (!err)
		return;
	size_t used = 0;
#define APPEND(...)                                                               \
	do {                                                                      \
		if (used < n) {                                                   \
			int k_ = snprintf(buf + used, n - used, __VA_ARGS__);     \
			if (k_ > 0)                                               \
				used += (size_t)k_;                               \
		}                                                                 \
	} while (0)
	if (err->file[0]) {
		APPEND("%s:", err->file);
		if (err->line > 0) {
			APPEND("%d:", err->line);
			if (err->column > 0)
				APPEND("%d:", err->column);
		}
		APPEND(" ");
	}
	if (err->key[0])
		APPEND("%s: ", err->key);
	APPEND("%s", err->message[0] ? err->message : fs_strerror(err->code));
#undef APPEND
}

const char *fs_strerror(int code)
{
	switch (code) {
	case FS_OK: return "ok";
	case FS_ERR_USAGE: return "bad usage";
	case FS_ERR_INPUT: return "bad input";
	case FS_ERR_IO: return "I/O error";
	case FS_ERR_HDF5: return "HDF5 error";
	case FS_ERR_NOMEM: return "out of memory";
	case FS_ERR_RUN: return "run failed";
	case FS_ERR_INTERRUPTED: return "interrupted";
	case FS_ERR_INTERNAL: return "internal error";
	default: return "unknown error";
	}
}

int fs_exit_status(int code)
{
	switch (code) {
	case FS_OK: return 0;
	case FS_ERR_USAGE:
	case FS_ERR_INPUT: return 2;
	default: return 1;
	}
}
