/*
 * cli.h - what every verb of the command line shares: printing an error as
 * "factorysim: file:line:col: key: message" with the exit status its code
 * calls for, and writing JSON scalars.
 */
#ifndef FS_CLI_H
#define FS_CLI_H

#include <stdio.h>

#include "error.h"

/* Print err and return its exit status (fs_exit_status). */
int cli_report(const fs_error *err);

/* Print "factorysim: <message>" and return status. */
int cli_errorf(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A JSON string with escapes, and a number (null when not finite). */
void cli_json_str(FILE *f, const char *s);
void cli_json_num(FILE *f, double v);

#endif
