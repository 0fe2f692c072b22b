/*
 * par.c - see par.h.
 */
#include <stdio.h>
#include <string.h>

#include "par.h"

#ifdef FS_HAVE_MPI
#include <mpi.h>

enum { TAG_ASK = 1, TAG_SLOT = 2 };

typedef struct ask {
	int32_t rc;
	char msg[1020];
} ask;

static int g_inited;

bool par_available(void)
{
	return true;
}

int par_init(int *argc, char ***argv)
{
	int provided = 0;
	/* worker threads call par_next from a critical section: serialized */
	if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
		return -1;
	g_inited = 1;
	return 0;
}

void par_finalize(void)
{
	if (g_inited)
		MPI_Finalize();
	g_inited = 0;
}

int par_rank(void)
{
	int r = 0;
	if (g_inited)
		MPI_Comm_rank(MPI_COMM_WORLD, &r);
	return r;
}

int par_size(void)
{
	int n = 1;
	if (g_inited)
		MPI_Comm_size(MPI_COMM_WORLD, &n);
	return n;
}

void par_barrier(void)
{
	if (g_inited)
		MPI_Barrier(MPI_COMM_WORLD);
}

int par_bcast_int(int v)
{
	if (g_inited)
		MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD);
	return v;
}

int par_serve(int64_t (*next)(void *ctx), void *ctx, char *msg, size_t msg_len)
{
	int size = par_size(), active = size - 1, first_rc = 0;
	while (active > 0) {
		ask a;
		MPI_Status st;
		MPI_Recv(&a, (int)sizeof a, MPI_BYTE, MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &st);
		a.msg[sizeof a.msg - 1] = '\0';
		if (a.rc > 0 && !first_rc) {
			first_rc = a.rc;
			snprintf(msg, msg_len, "rank %d: %s", st.MPI_SOURCE, a.msg);
		}
		int64_t slot = first_rc ? -1 : next(ctx);
		MPI_Send(&slot, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_SLOT, MPI_COMM_WORLD);
		if (slot < 0)
			active--;
	}
	return first_rc;
}

int64_t par_next(int last_rc, const char *last_msg)
{
	ask a;
	memset(&a, 0, sizeof a);
	a.rc = last_rc;
	if (last_msg)
		snprintf(a.msg, sizeof a.msg, "%s", last_msg);
	MPI_Send(&a, (int)sizeof a, MPI_BYTE, 0, TAG_ASK, MPI_COMM_WORLD);
	int64_t slot = -1;
	MPI_Recv(&slot, 1, MPI_INT64_T, 0, TAG_SLOT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	return slot;
}

#else /* one process: stubs */

bool par_available(void)
{
	return false;
}

int par_init(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

void par_finalize(void)
{
}

int par_rank(void)
{
	return 0;
}

int par_size(void)
{
	return 1;
}

void par_barrier(void)
{
}

int par_bcast_int(int v)
{
	return v;
}

int par_serve(int64_t (*next)(void *ctx), void *ctx, char *msg, size_t msg_len)
{
	(void)next;
	(void)ctx;
	(void)msg;
	(void)msg_len;
	return 0;
}

int64_t par_next(int last_rc, const char *last_msg)
{
	(void)last_rc;
	(void)last_msg;
	return -1;
}

#endif
