/* h5lock.c - see h5lock.h. */
#include <pthread.h>

#include "h5lock.h"

static pthread_mutex_t h5_mutex = PTHREAD_MUTEX_INITIALIZER;

void fs_h5_lock(void)
{
	pthread_mutex_lock(&h5_mutex);
}

void fs_h5_unlock(void)
{
	pthread_mutex_unlock(&h5_mutex);
}
