/*
 * threads.h - how the program's OpenMP threads wait.
 *
 * The windowed serving engine meets at a barrier thousands of times per
 * simulated hour.  libgomp's default lets a waiting thread spin; on a small
 * shared machine (2 cores, other work beside) the spinning thread takes the
 * core that the working one needs, and a run with 2 threads was measured 5 to
 * 10 times slower than with 1.  Sleeping waits (OMP_WAIT_POLICY=passive) cost
 * a few microseconds per barrier instead.  libgomp reads the variable when it
 * loads, before main, so threads_prefer_passive() sets it and executes the
 * program again; it returns (and nothing changes) when the variable is
 * already set, by the user or by the first start.
 */
#ifndef FS_THREADS_H
#define FS_THREADS_H

void threads_prefer_passive(char **argv);

#endif
