/* The two clocks Santa's code reads: wall time for logs and sync, monotonic for durations. */
#ifndef SANTA_CLOCK_H
#define SANTA_CLOCK_H

#include <stdint.h>

/* Unix seconds with a fraction (CLOCK_REALTIME). */
double santa_unix_now(void);
/* Microseconds of CLOCK_MONOTONIC, the clock sd-event timers use. */
uint64_t santa_mono_usec(void);

#endif
