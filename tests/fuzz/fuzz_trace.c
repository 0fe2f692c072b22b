/* libFuzzer target: wl_trace_read.  The first byte picks the format
 * (even: Azure CSV, odd: JSONL); the rest is the file content. */
#include <stdlib.h>
#include <unistd.h>

#include "error.h"
#include "fuzz_common.h"
#include "workload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int format = (data[0] & 1) ? WL_TRACE_JSONL : WL_TRACE_AZURE_CSV;
	char path[64];
	fuzz_write_temp(data + 1, size - 1, path);
	wl_trace_row *rows = NULL;
	size_t n = 0;
	fs_error err;
	fs_error_clear(&err);
	(void)wl_trace_read(path, format, &rows, &n, &err);
	free(rows);
	unlink(path);
	return 0;
}
