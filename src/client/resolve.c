/* SPDX-License-Identifier: ISC */
/*
 * Name resolution off the loop.  One detached thread per lookup calls
 * getaddrinfo() with every signal blocked (signals stay the loop's), stores
 * the outcome in the job and writes one byte to a socket pair; the loop
 * reads it and takes the outcome.  The job is shared: the thread and the
 * loop each hold a reference, dropped under the job's lock, and the last
 * to let go frees it.  So a lookup given up while its thread still waits
 * on the resolver costs nothing but the thread, which frees what it finds
 * and ends.  The thread owns the socket's writing end, the loop the other.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <event2/event.h>

#include "sealchat/conf.h"
#include "sealchat/log.h"

#include "resolve.h"

/* What the thread and the loop share. */
struct resolve_job {
	pthread_mutex_t	 lock;
	int		 refs;		/* the thread's and the loop's */
	int		 abandoned;	/* the loop gave up */
	int		 done;		/* rc and ai are set */
	int		 wfd;		/* the thread's end */
	char		 host[CONF_STR_MAX];
	char		 port[16];
	int		 rc;
	struct addrinfo	*ai;
};

/* The loop's handle. */
struct resolve {
	struct resolve_job	*job;
	struct event		*ev;
	int			 rfd;
	resolve_fn		 fn;
	void			*arg;
};

/* Drops one reference to the job; the last frees it.  Called unlocked. */
static void
resolve_job_release(struct resolve_job *j)
{
	int	last;

	pthread_mutex_lock(&j->lock);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->lock);
	if (!last)
		return;
	if (j->ai != NULL)
		freeaddrinfo(j->ai);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

/* The thread: one lookup, then one byte to the loop unless given up. */
static void *
resolve_thread(void *arg)
{
	struct resolve_job	*j = arg;
	struct addrinfo		 hints, *ai = NULL;
	int			 rc, gone, wfd;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(j->host, j->port, &hints, &ai);
	pthread_mutex_lock(&j->lock);
	gone = j->abandoned;
	if (!gone) {
		j->rc = rc;
		j->ai = rc == 0 ? ai : NULL;
		j->done = 1;
		ai = NULL;
	}
	wfd = j->wfd;
	pthread_mutex_unlock(&j->lock);
	if (ai != NULL && rc == 0)
		freeaddrinfo(ai);
	if (!gone)
		(void)send(wfd, "", 1, MSG_NOSIGNAL);
	close(wfd);
	resolve_job_release(j);
	return (NULL);
}

/* Frees the loop's handle (the job is released by the caller). */
static void
resolve_handle_free(struct resolve *r)
{
	if (r->ev != NULL)
		event_free(r->ev);
	if (r->rfd != -1)
		close(r->rfd);
	free(r);
}

/* The thread is done: the outcome goes to the caller. */
static void
resolve_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolve		*r = arg;
	struct resolve_job	*j = r->job;
	struct addrinfo		*ai;
	resolve_fn		 fn = r->fn;
	void			*fnarg = r->arg;
	char			 b;
	int			 rc;

	(void)what;
	if (recv(fd, &b, 1, 0) < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	pthread_mutex_lock(&j->lock);
	rc = j->done ? j->rc : EAI_SYSTEM;
	ai = j->ai;
	j->ai = NULL;
	pthread_mutex_unlock(&j->lock);
	resolve_job_release(j);
	resolve_handle_free(r);
	fn(fnarg, rc, ai);
}

/* Starts a lookup in a thread of its own. */
struct resolve *
resolve_start(struct event_base *base, const char *host, const char *port,
    resolve_fn fn, void *arg)
{
	struct resolve		*r;
	struct resolve_job	*j;
	pthread_attr_t		 attr;
	pthread_t		 tid;
	sigset_t		 all, old;
	int			 sv[2], rc;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	r->rfd = -1;
	r->fn = fn;
	r->arg = arg;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		free(r);
		return (NULL);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		free(j);
		free(r);
		return (NULL);
	}
	r->rfd = sv[0];
	j->wfd = sv[1];
	j->refs = 2;
	strlcpy(j->host, host, sizeof(j->host));
	strlcpy(j->port, port, sizeof(j->port));
	r->job = j;
	if ((r->ev = event_new(base, r->rfd, EV_READ, resolve_ready_cb,
	    r)) == NULL || event_add(r->ev, NULL) != 0 ||
	    pthread_mutex_init(&j->lock, NULL) != 0)
		goto fail;
	if (pthread_attr_init(&attr) != 0) {
		pthread_mutex_destroy(&j->lock);
		goto fail;
	}
	(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* The thread takes no signal: they are the loop's to handle. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&tid, &attr, resolve_thread, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		log_warnx("resolve: cannot start a thread: %s", strerror(rc));
		pthread_mutex_destroy(&j->lock);
		goto fail;
	}
	log_debug("resolve: looking up host=%s", host);
	return (r);
fail:
	close(j->wfd);
	free(j);
	resolve_handle_free(r);
	return (NULL);
}

/* Gives the lookup up; the thread frees what it finds. */
void
resolve_cancel(struct resolve *r)
{
	struct resolve_job	*j;

	if (r == NULL)
		return;
	j = r->job;
	pthread_mutex_lock(&j->lock);
	j->abandoned = 1;
	pthread_mutex_unlock(&j->lock);
	resolve_job_release(j);
	resolve_handle_free(r);
}
