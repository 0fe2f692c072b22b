/* Shared by the fuzz targets: the libFuzzer entry points (also called by
 * replay_main.c, which replays inputs without libFuzzer, e.g. under gcc in
 * `make test`), and a helper for the file-based targets that writes the input
 * to a temporary file in /dev/shm (or /tmp) and returns its path. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static inline int fuzz_write_temp(const uint8_t *data, size_t size, char path[64])
{
	snprintf(path, 64, "/dev/shm/fsfuzz-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0) {
		snprintf(path, 64, "/tmp/fsfuzz-XXXXXX");
		fd = mkstemp(path);
		if (fd < 0)
			abort();
	}
	size_t off = 0;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0) {
			close(fd);
			unlink(path);
			abort();
		}
		off += (size_t)w;
	}
	close(fd);
	return 0;
}

#endif
