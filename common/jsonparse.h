/* A small, strict JSON parser (RFC 8259): the text is tokenized into a flat
 * array of tokens that point into it; nothing is copied or allocated per
 * value. The token array is kept in the document and reused from parse to
 * parse, so that parsing line after line allocates nothing once it has grown.
 *
 * Token layout: a container is followed by its children in order; an
 * object's children alternate key (a string token) and value. Every token
 * records `next`, the index just past its subtree, so siblings are walked in
 * O(1):
 *
 *   for (i = jp_first(d, arr); i != -1; i = jp_sibling(d, arr, i)) ...
 */
#ifndef COMMON_JSONPARSE_H
#define COMMON_JSONPARSE_H

#include <stddef.h>
#include <stdint.h>

#define JP_MAX_DEPTH 64

enum jp_type {
	JP_NULL = 0,
	JP_BOOL,
	JP_NUM,
	JP_STR,
	JP_ARR,
	JP_OBJ,
};

struct jp_tok {
	uint8_t type;    /* enum jp_type */
	uint32_t start;  /* offset of the value (a string: past its opening quote) */
	uint32_t len;    /* bytes (a string: raw, escapes undecoded) */
	uint32_t n;      /* members of an object, elements of an array */
	uint32_t next;   /* index of the token after this subtree */
	uint32_t parent; /* index of the enclosing container (0 for the root) */
};

struct jp_doc {
	const char *s;   /* the text parsed last (borrowed) */
	size_t slen;
	struct jp_tok *t;
	size_t ntok;
	size_t cap;
};

void jp_init(struct jp_doc *d);
void jp_free(struct jp_doc *d);

/* Parses exactly one JSON value (surrounded by optional whitespace) from
 * s[0..len). 0, or -1 with err ("offset N: what") and errno EINVAL (bad
 * text) or ENOMEM. Token 0 is the root. Texts of 4 GiB or more are refused. */
int jp_parse(struct jp_doc *d, const char *s, size_t len, char *err, size_t errlen);

/* The first child of container i, or -1 if empty or not a container. For
 * an object this is the first key; its value is key + 1. */
int jp_first(const struct jp_doc *d, int i);
/* The next sibling of child i within container c (skipping the value when
 * c is an object and i a key), or -1. */
int jp_sibling(const struct jp_doc *d, int c, int i);
/* The value of member key in object obj, or -1 (missing, obj not an object). */
int jp_get(const struct jp_doc *d, int obj, const char *key);
/* Element idx of array arr, or -1. */
int jp_index(const struct jp_doc *d, int arr, size_t idx);
/* Follows a dotted path from i: "store.path", "generations.0.gen". -1 if absent. */
int jp_path(const struct jp_doc *d, int i, const char *path);

/* 1 if token i exists and has that type. */
int jp_is(const struct jp_doc *d, int i, enum jp_type type);
/* Conversions: 0, or -1 when i is -1, of another type, or out of range
 * (integers must be integral and fit). *out is left alone on -1. */
int jp_int(const struct jp_doc *d, int i, int64_t *out);
int jp_double(const struct jp_doc *d, int i, double *out);
int jp_bool(const struct jp_doc *d, int i, int *out);
/* Decodes string i (escapes, \u surrogate pairs to UTF-8) into buf, NUL
 * terminated, truncated to fit at a character boundary. Returns the decoded
 * length before truncation, or -1 (not a string). */
int jp_str(const struct jp_doc *d, int i, char *buf, size_t buflen);
/* 1 if string token i equals s (raw comparison: s must not need escapes). */
int jp_str_eq(const struct jp_doc *d, int i, const char *s);

/* Convenience: member key of obj as an integer/double/string, with a default
 * when absent, null or of another type. */
int64_t jp_get_int(const struct jp_doc *d, int obj, const char *key, int64_t def);
double jp_get_double(const struct jp_doc *d, int obj, const char *key, double def);
/* Copies member key (a string) into buf; "" when absent or not a string. */
void jp_get_str(const struct jp_doc *d, int obj, const char *key, char *buf, size_t buflen);

#endif
