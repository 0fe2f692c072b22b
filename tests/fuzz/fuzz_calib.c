/* libFuzzer target: calib_trace_read_stream through fmemopen. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "calibrate.h"
#include "error.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0; /* fmemopen rejects size 0 on older glibc */
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	calib_trace t;
	memset(&t, 0, sizeof t);
	fs_error err;
	fs_error_clear(&err);
	(void)calib_trace_read_stream(f, "fuzz.csv", &t, &err);
	calib_trace_clear(&t);
	fclose(f);
	return 0;
}
