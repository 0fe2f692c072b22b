/* libFuzzer target: weather_load_csv (first byte even) or pc_price_read_csv
 * (first byte odd) on the rest of the input, through a temporary file. */
#include <stdlib.h>
#include <unistd.h>

#include "cooling.h"
#include "error.h"
#include "fuzz_common.h"
#include "powerchain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char path[64];
	fuzz_write_temp(data + 1, size - 1, path);
	fs_error err;
	fs_error_clear(&err);
	if (data[0] & 1) {
		pc_price_point *p = NULL;
		size_t n = 0;
		(void)pc_price_read_csv(path, &p, &n, &err);
		free(p);
	} else {
		weather *w = NULL;
		(void)weather_load_csv(path, &w, &err);
		weather_free(w);
	}
	unlink(path);
	return 0;
}
