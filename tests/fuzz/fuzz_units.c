/* libFuzzer target: units_parse.  Input "value\nunit"; without a newline the
 * expected unit is chosen from a fixed list by the first byte. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "units.h"

static const char *const k_units[] = {"W",   "MW",  "s",      "min",   "h",  "%",
				      "degC", "K",  "L/min",  "$/kWh", "J",  "Hz",
				      "B",   "GB",  "m3/s",   "Pa",    "1",  "kW"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	const char *text = buf;
	const char *unit;
	char *nl = memchr(buf, '\n', size);
	if (nl) {
		*nl = '\0';
		unit = nl + 1;
	} else {
		unit = k_units[(size ? data[0] : 0) % (sizeof k_units / sizeof k_units[0])];
	}
	double si = 0;
	char why[256];
	(void)units_parse(text, unit, &si, why, sizeof why);
	(void)units_parse(text, unit, &si, NULL, 0);
	free(buf);
	return 0;
}
