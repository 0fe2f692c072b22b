/*
 * textfield.c - field helpers for the data-file readers (see textfield.h).
 */
#include "textfield.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void textfield_quote(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;
	if (cap < 5) {
		if (cap)
			dst[0] = '\0';
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char tmp[8];
		int k = ch >= 0x20 && ch < 0x7f ? snprintf(tmp, sizeof tmp, "%c", ch)
						: snprintf(tmp, sizeof tmp, "\\x%02x", ch);
		if (o + (size_t)k + 4 >= cap) {
			memcpy(dst + o, "...", 4);
			return;
		}
		memcpy(dst + o, tmp, (size_t)k);
		o += (size_t)k;
	}
	dst[o] = '\0';
}

bool textfield_number(const char *s, size_t n, double *out)
{
	while (n > 0 && textfield_blank(*s))
		s++, n--;
	while (n > 0 && textfield_blank(s[n - 1]))
		n--;
	char buf[64];
	if (n == 0 || n >= sizeof buf || memchr(s, '\0', n))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	/* strtod also takes hex floats, "inf" and "nan": only plain decimals here */
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)buf[i]) && !strchr("+-.eE", buf[i]))
			return false;
	char *end;
	errno = 0;
	double v = strtod(buf, &end);
	if (end != buf + n || errno == ERANGE || !isfinite(v))
		return false;
	*out = v;
	return true;
}

int textfield_read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int ch;
	bool any = false;
	while ((ch = getc(f)) != EOF) {
		any = true;
		if (ch == '\n')
			break;
		if (n + 1 >= cap)
			return -1;
		buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	*len = n;
	return any ? 1 : 0;
}

int textfield_content_line(FILE *f, char *buf, size_t cap, int *lineno, const char **s,
			   size_t *n, size_t *col0)
{
	size_t len;
	int r;
	while ((r = textfield_read_line(f, buf, cap, &len)) == 1) {
		(*lineno)++;
		size_t off = 0;
		if (*lineno == 1 && len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
			off = 3; /* UTF-8 byte order mark */
		const char *t = buf + off;
		size_t m = len - off;
		while (m > 0 && textfield_blank(t[m - 1]))
			m--;
		size_t lead = 0;
		while (lead < m && textfield_blank(t[lead]))
			lead++;
		if (lead == m || t[lead] == '#')
			continue; /* blank line or comment */
		*s = t;
		*n = m;
		*col0 = off;
		return 1;
	}
	return r; /* -1: the line after *lineno did not fit */
}
