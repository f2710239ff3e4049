/* SPDX-License-Identifier: ISC */
/*
 * The set of users online.  A USERS list is appended to as its frames come
 * and sorted once when it is complete, so a long list costs O(n log n)
 * whatever order the server sent it in; a PRESENCE event then finds its
 * place by binary search.  The set is a sorted array of names: completion
 * reads it in order, and an insertion or removal moves only pointers.
 */
#include <stdlib.h>
#include <string.h>

#include "roster.h"

/* Which list is being received, by the REPLY flag of its frames. */
enum roster_kind {
	ROSTER_NONE,		/* none: the next frame starts one */
	ROSTER_INITIAL,		/* the list sent after login */
	ROSTER_REPLY,		/* the answer to LIST */
};

/* An array of names. */
struct roster_list {
	char	**v;
	size_t	  n;
	size_t	  cap;
};

struct roster {
	struct roster_list	online;		/* sorted, no repeats */
	struct roster_list	list;		/* received, in order */
	enum roster_kind	kind;
};

/* Frees every name of a list and empties it. */
static void
roster_list_clear(struct roster_list *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Appends a copy of name; -1 when full or out of memory. */
static int
roster_list_add(struct roster_list *l, const char *name)
{
	char	**v;
	size_t	  cap;

	if (l->n >= ROSTER_MAX)
		return (-1);
	if (l->n == l->cap) {
		cap = l->cap == 0 ? 16 : l->cap * 2;
		if ((v = reallocarray(l->v, cap, sizeof(*v))) == NULL)
			return (-1);
		l->v = v;
		l->cap = cap;
	}
	if ((l->v[l->n] = strdup(name)) == NULL)
		return (-1);
	l->n++;
	return (0);
}

/* Position of name in a sorted list, or where it would go (*found = 0). */
static size_t
roster_list_find(const struct roster_list *l, const char *name, int *found)
{
	size_t	lo = 0, hi = l->n, mid;
	int	cmp;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(l->v[mid], name);
		if (cmp == 0) {
			*found = 1;
			return (mid);
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* Orders two names for qsort. */
static int
roster_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Makes an empty set. */
struct roster *
roster_new(void)
{
	return (calloc(1, sizeof(struct roster)));
}

/* Frees the set and any list being received. */
void
roster_free(struct roster *r)
{
	if (r == NULL)
		return;
	roster_list_clear(&r->online);
	roster_list_clear(&r->list);
	free(r);
}

/* Adds one USERS frame to the list being received. */
int
roster_users(struct roster *r, const struct sc_msg *m)
{
	char			name[SC_NAME_MAX + 1];
	size_t			off = 0;
	enum roster_kind	kind;

	kind = (m->flags & SC_USERS_REPLY) ? ROSTER_REPLY : ROSTER_INITIAL;
	if (r->kind != kind)
		roster_list_clear(&r->list);
	r->kind = kind;
	while (wire_users_next(m, &off, name)) {
		if (roster_list_add(&r->list, name) != 0)
			return (-1);
	}
	if (m->flags & SC_USERS_MORE)
		return (0);
	r->kind = ROSTER_NONE;
	return (1);
}

/* The list last completed, in the server's order. */
const char *const *
roster_received(const struct roster *r, size_t *n)
{
	*n = r->list.n;
	return ((const char *const *)r->list.v);
}

/* The list last completed replaces the set. */
void
roster_commit(struct roster *r)
{
	struct roster_list	*l;
	size_t			 i, kept;

	roster_list_clear(&r->online);
	r->online = r->list;
	memset(&r->list, 0, sizeof(r->list));
	l = &r->online;
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), roster_cmp);
	/* Drop repeats a server might send; the list is a set. */
	for (i = 0, kept = 0; i < l->n; i++) {
		if (kept > 0 && strcmp(l->v[kept - 1], l->v[i]) == 0) {
			free(l->v[i]);
			continue;
		}
		l->v[kept++] = l->v[i];
	}
	l->n = kept;
}

/* Inserts name in order (no repeats). */
void
roster_insert(struct roster *r, const char *name)
{
	struct roster_list	*l = &r->online;
	size_t			 pos;
	int			 found;
	char			*last;

	pos = roster_list_find(l, name, &found);
	if (found || roster_list_add(l, name) != 0)
		return;
	last = l->v[l->n - 1];
	memmove(l->v + pos + 1, l->v + pos, (l->n - 1 - pos) * sizeof(*l->v));
	l->v[pos] = last;
}

/* Removes name from the set. */
void
roster_remove(struct roster *r, const char *name)
{
	struct roster_list	*l = &r->online;
	size_t			 pos;
	int			 found;

	pos = roster_list_find(l, name, &found);
	if (!found)
		return;
	free(l->v[pos]);
	memmove(l->v + pos, l->v + pos + 1, (l->n - pos - 1) * sizeof(*l->v));
	l->n--;
}

/* Tells whether name is online. */
int
roster_has(const struct roster *r, const char *name)
{
	int	found;

	(void)roster_list_find(&r->online, name, &found);
	return (found);
}

/* Forgets every name. */
void
roster_clear(struct roster *r)
{
	roster_list_clear(&r->online);
	roster_list_clear(&r->list);
	r->kind = ROSTER_NONE;
}

/* The users online, sorted. */
const char *const *
roster_names(const struct roster *r, size_t *n)
{
	*n = r->online.n;
	return ((const char *const *)r->online.v);
}
