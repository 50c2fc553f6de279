/*
 * Who gets a busy CPU first: santad's answers, or a user's processes.
 *
 * Every exec on a watched filesystem waits for santad's loop to read its
 * event and, mostly, to answer it there. A loop that competes as an equal
 * with a user's thousand runnable processes waits for a time slice between
 * answers, and every exec queued behind that user's (root's included) waits
 * with it: with two CPU hogs beside an ASan santad, batches of 800 of
 * nobody's events took 2-3 s to answer and root's allowlisted programs were
 * answered by their deadline; at nice -10, 0.2-0.6 s and by their rule.
 *
 * So the threads that answer (the loop, the deadline thread, root's worker,
 * the loader check's reader, the lease keeper and the log writer) run at
 * SANTAD_NICE; a worker runs at the priority of whom it works for: a user's
 * hash competes with that user's own processes, root's does not (a
 * petabyte of holes is given up at its deadline either way: hash_pool.h).
 * Compiler output (transitive rules) is hashed at 0 too. Background work
 * (rule export) runs at SANTAD_NICE_BACKGROUND. Programs santad starts go
 * back to 0.
 *
 * Niceness only orders threads within one cgroup: under systemd, santad's
 * slice and the users' slices share the CPU by their CPUWeight= first.
 */
#ifndef SANTAD_PRIORITY_H
#define SANTAD_PRIORITY_H

#define SANTAD_NICE            (-10) /* the unit's Nice=; LimitNICE=30 lets workers come back to it */
#define SANTAD_NICE_USER_WORK  0
#define SANTAD_NICE_BACKGROUND 10

/* The calling thread's niceness (threads have their own on Linux): 0 or -errno. */
int santad_thread_nice(int nice);

#endif
