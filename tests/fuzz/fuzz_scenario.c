/* libFuzzer target: scenario_load_string on arbitrary YAML text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzz_common.h"
#include "scenario.h"

/* A scenario may name any path as a trace or include (/dev/stdin, a FIFO):
 * stdin is /dev/null so that reading it ends at once. */
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
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	scenario sc;
	memset(&sc, 0, sizeof sc);
	fs_error err;
	fs_error_clear(&err);
	(void)scenario_load_string(text, "fuzz.yaml", NULL, 0, &sc, &err);
	scenario_clear(&sc);
	free(text);
	return 0;
}
