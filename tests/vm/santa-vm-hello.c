/*
 * The program of the test packages tests/vm/debian_lockdown.sh serves from
 * its local apt archive (built with -DVERSION=1 or 2), and, built as "hello",
 * the unknown program it copies into the test user's home.
 * usage: santa-vm-hello             prints "santa-vm-hello VERSION"
 *        santa-vm-hello serve FILE  writes a heartbeat (a counter) to FILE
 *                                   every 0.2 s until FILE.stop exists
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	char stop[4096];
	unsigned long n = 0;
	FILE *f;

	if (argc == 3 && strcmp(argv[1], "serve") == 0) {
		snprintf(stop, sizeof(stop), "%s.stop", argv[2]);
		while (access(stop, F_OK) != 0) {
			f = fopen(argv[2], "w");
			if (f) {
				fprintf(f, "%d %lu\n", VERSION, ++n);
				fclose(f);
			}
			usleep(200000);
		}
		return 0;
	}
	printf("santa-vm-hello %d\n", VERSION);
	return 0;
}
