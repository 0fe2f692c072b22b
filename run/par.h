/*
 * par.h - the only door to MPI.  With MPI=1 (FS_HAVE_MPI) par.c speaks MPI;
 * otherwise it is a set of stubs for one process, and no MPI header or
 * symbol is compiled anywhere.
 *
 * The sweep uses MPI for one thing: rank 0 hands out slot numbers on demand
 * (dynamic load balancing; a slow run never idles the other ranks) and
 * collects each worker's status.  Results never travel over MPI: each worker
 * writes its own run files, and rank 0 writes the merged file from them.
 */
#ifndef FS_PAR_H
#define FS_PAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool par_available(void);            /* built with MPI */
int par_init(int *argc, char ***argv); /* 0 ok */
void par_finalize(void);
int par_rank(void);
int par_size(void);
void par_barrier(void);
/* rank 0's value of v, on every rank */
int par_bcast_int(int v);

/* Rank 0: answer workers until every one has been told to stop.  next(ctx)
 * gives the next slot or -1 when there is none left.  A worker's failure is
 * kept (the first one: code and message) and ends the handing out. */
int par_serve(int64_t (*next)(void *ctx), void *ctx, char *msg, size_t msg_len);

/* A worker: report the last slot's status (rc 0 ok; -1 before the first) and
 * get the next slot, or -1 to stop. */
int64_t par_next(int last_rc, const char *last_msg);

#endif
