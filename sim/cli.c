/* cli.c - see cli.h. */
#include <math.h>
#include <stdarg.h>

#include "cli.h"

int cli_report(const fs_error *err)
{
	char msg[2048];
	fs_error_format(err, msg, sizeof msg);
	fprintf(stderr, "factorysim: %s\n", msg);
	return fs_exit_status(err->code ? err->code : FS_ERR_INTERNAL);
}

int cli_errorf(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("factorysim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return status;
}

void cli_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void cli_json_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.17g", v);
	else
		fputs("null", f);
}
