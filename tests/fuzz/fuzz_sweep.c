/* libFuzzer target: the sweep file reader and its constraint expressions
 * (run/sweep.h).  First byte even: the rest is a sweep file, written to a
 * temporary file and read with sweep_load (the plan, which loads and
 * validates every design point's scenario, is not built); odd: the rest is a
 * constraint expression for sweep_expr_eval, with variables x, y.0.z and
 * site.power_budget defined and every other name unknown. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "fuzz_common.h"
#include "sweep.h"

static int lookup(void *ctx, const char *name, double *v)
{
	(void)ctx;
	if (!strcmp(name, "x"))
		*v = 3;
	else if (!strcmp(name, "y.0.z"))
		*v = -0.5;
	else if (!strcmp(name, "site.power_budget"))
		*v = 2e6;
	else
		return -1;
	return 0;
}

/* A sweep file may name any path as its base scenario (/dev/stdin). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!freopen("/dev/null", "r", stdin))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		char *text = malloc(size);
		if (!text)
			return 0;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		int out = -1;
		char why[256];
		(void)sweep_expr_eval(text, lookup, NULL, &out, why, sizeof why);
		free(text);
		return 0;
	}
	char path[64];
	fuzz_write_temp(data + 1, size - 1, path);
	static sweep_spec spec; /* large: keep it off the stack */
	memset(&spec, 0, sizeof spec);
	fs_error err;
	fs_error_clear(&err);
	if (sweep_load(path, &spec, &err) == FS_OK)
		sweep_spec_clear(&spec);
	unlink(path);
	return 0;
}
