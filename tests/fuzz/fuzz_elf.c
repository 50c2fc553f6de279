/*
 * libFuzzer target: santa_elf_read on any bytes (a file santad's loader
 * check, santactl fileinfo or the bundle service is handed is hostile input:
 * offsets and counts come from it). The bytes go into a memfd, as a file would.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "santa/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct santa_elf_info info;
	int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (size == 0 || write(fd, data, size) == (ssize_t)size) {
		if (santa_elf_read(fd, &info) == 0)
			(void)santa_elf_is_program(&info);
	}
	close(fd);
	return 0;
}
