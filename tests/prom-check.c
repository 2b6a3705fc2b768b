/* prom-check FILE: strict check of a Prometheus text exposition.
 * prom-check OLD NEW: both checked, and every counter series present in
 * both must not have gone down. Exit 0 when valid, 1 otherwise. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/prom.h"
#include "common/sbuf.h"

struct series {
	char *key;
	double v;
};

struct set {
	struct series *s;
	size_t n, cap;
	int oom;
};

static void collect(const char *name, const char *labels, double v, enum prom_type type, void *arg)
{
	struct set *set = arg;
	struct sbuf k;

	if (type != PROM_COUNTER)
		return;
	if (set->n == set->cap) {
		size_t ncap = set->cap ? set->cap * 2 : 1024;
		struct series *ns = realloc(set->s, ncap * sizeof(*ns));

		if (!ns) {
			set->oom = 1;
			return;
		}
		set->s = ns;
		set->cap = ncap;
	}
	sb_init(&k);
	sb_printf(&k, "%s{%s}", name, labels);
	set->s[set->n].key = sb_take(&k);
	if (!set->s[set->n].key) {
		set->oom = 1;
		return;
	}
	set->s[set->n++].v = v;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct series *)a)->key, ((const struct series *)b)->key);
}

static int load(const char *path, struct set *set)
{
	struct sbuf b;
	char buf[65536], err[256];
	FILE *fp = fopen(path, "r");
	size_t n;
	int rc;

	if (!fp) {
		perror(path);
		return -1;
	}
	sb_init(&b);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sb_putn(&b, buf, n);
	fclose(fp);
	rc = prom_check(b.p ? b.p : "", b.len, collect, set, err, sizeof(err));
	if (rc == -1)
		fprintf(stderr, "%s: %s\n", path, err);
	if (b.err || set->oom) {
		fprintf(stderr, "%s: out of memory\n", path);
		rc = -1;
	}
	sb_free(&b);
	return rc;
}

static void set_free(struct set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->s[i].key);
	free(s->s);
}

int main(int argc, char **argv)
{
	struct set a = { 0 }, b = { 0 };
	size_t i, j = 0;
	int rc = 0;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: prom-check FILE | prom-check OLD NEW\n");
		return 2;
	}
	if (load(argv[1], &a) == -1 || (argc == 3 && load(argv[2], &b) == -1)) {
		rc = 1;
		goto out;
	}
	if (argc == 3) {
		/* An empty file has no array at all: qsort's base must not be NULL. */
		if (a.n)
			qsort(a.s, a.n, sizeof(*a.s), key_cmp);
		if (b.n)
			qsort(b.s, b.n, sizeof(*b.s), key_cmp);
		for (i = 0; i < a.n; i++) {
			while (j < b.n && strcmp(b.s[j].key, a.s[i].key) < 0)
				j++;
			if (j < b.n && !strcmp(b.s[j].key, a.s[i].key) && b.s[j].v < a.s[i].v) {
				fprintf(stderr, "%s went down: %.17g -> %.17g\n", a.s[i].key, a.s[i].v,
					b.s[j].v);
				rc = 1;
			}
		}
	}
out:
	set_free(&a);
	set_free(&b);
	return rc;
}
