/*
 * record.c - the null sink (see record.h).
 */
#include "record.h"

static int null_declare(void *ctx, const char *path, const char *units, const char *desc,
			size_t width, fs_error *err)
{
	(void)ctx; (void)path; (void)units; (void)desc; (void)width; (void)err;
	return 0;
}
static void null_set(void *ctx, int id, size_t col, double v)
{
	(void)ctx; (void)id; (void)col; (void)v;
}
static int null_commit(void *ctx, double t, fs_error *err)
{
	(void)ctx; (void)t; (void)err;
	return 0;
}
static int null_event(void *ctx, double t, const char *kind, const char *subject, double value,
		      const char *units, const char *detail, fs_error *err)
{
	(void)ctx; (void)t; (void)kind; (void)subject; (void)value; (void)units; (void)detail;
	(void)err;
	return 0;
}
static int null_summary(void *ctx, const char *name, double v, const char *units,
			const char *desc, fs_error *err)
{
	(void)ctx; (void)name; (void)v; (void)units; (void)desc; (void)err;
	return 0;
}

static int null_request(void *ctx, const rec_request *row, fs_error *err)
{
	(void)ctx; (void)row; (void)err;
	return 0;
}
static int null_classes(void *ctx, const char *const *names, size_t n, fs_error *err)
{
	(void)ctx; (void)names; (void)n; (void)err;
	return 0;
}

rec_sink *rec_null(void)
{
	static rec_sink sink = { 0, null_declare, null_set, null_commit, null_event, null_summary,
				 null_request, null_classes };
	return &sink;
}
