/*
 * textfield.h - small helpers for the strict line readers of data files
 * (price series, weather, and later traces): one definition of what a number
 * field is and of how a field is shown in an error message.
 */
#ifndef FS_TEXTFIELD_H
#define FS_TEXTFIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Blank inside a line: space, tab, or the CR of a CRLF line end. */
static inline bool textfield_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Copy n bytes of s into dst (cap bytes) for a message: printable ASCII as is,
 * other bytes as \xNN, cut with "..." when it does not fit. */
void textfield_quote(char *dst, size_t cap, const char *s, size_t n);

/* Read one line into buf (cap bytes, without the newline): 1 with *len set,
 * 0 at the end of the file, -1 when the line does not fit. */
int textfield_read_line(FILE *f, char *buf, size_t cap, size_t *len);

/* The next line with content: skips blank lines and '#' comments, drops a
 * UTF-8 byte-order mark on line 1 and trailing blanks.  *lineno counts every
 * line read; *s and *n give the content, *col0 the bytes dropped before it
 * (the mark), for column numbers.  1, 0 at the end, -1 when line *lineno + 1
 * is too long. */
int textfield_content_line(FILE *f, char *buf, size_t cap, int *lineno, const char **s,
			   size_t *n, size_t *col0);

/* A whole field (blanks around it allowed) as a finite plain decimal number:
 * no hex floats, no "inf" or "nan", nothing after the number. */
bool textfield_number(const char *s, size_t n, double *out);

#endif
