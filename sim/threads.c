/*
 * threads.c - see threads.h.
 */
#include "threads.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void threads_prefer_passive(char **argv)
{
	if (getenv("OMP_WAIT_POLICY"))
		return;
	/* under valgrind /proc/self/exe is the tool, not this program */
	const char *pre = getenv("LD_PRELOAD");
	if (pre && (strstr(pre, "vgpreload") || strstr(pre, "valgrind")))
		return;
	setenv("OMP_WAIT_POLICY", "passive", 1);
	execv("/proc/self/exe", argv); /* returns only on failure: then spin */
}
