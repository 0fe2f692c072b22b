/*
 * h5lock.h - one process-wide lock around every HDF5 call.
 *
 * Debian's libhdf5 is built without --enable-threadsafe: two threads inside
 * the library at once corrupt its global state (error stacks, the id table,
 * the metadata cache), even on different files.  Sweeps run several
 * simulations at once, each with its own recorder, so every module in output/
 * takes this lock around the code that calls HDF5.  Models never see it: they
 * fill in-memory buffers, and only the flush of a buffer takes the lock.
 * The lock is not recursive; take it only at module entry points.
 */
#ifndef FS_H5LOCK_H
#define FS_H5LOCK_H

void fs_h5_lock(void);
void fs_h5_unlock(void);

#endif
