/* A small streaming JSON writer on top of sbuf. Keys are given for members of
 * objects and NULL for array elements; commas are placed automatically.
 *
 *   struct json j; json_init(&j, &sb);
 *   json_obj_open(&j, NULL);
 *     json_str(&j, "kind", "duplicate_listener");
 *     json_arr_open(&j, "pids"); json_int(&j, NULL, 12); json_arr_close(&j);
 *   json_obj_close(&j);
 */
#ifndef COMMON_JSON_H
#define COMMON_JSON_H

#include <stdint.h>

#include "common/sbuf.h"

#define JSON_MAX_DEPTH 32

struct json {
	struct sbuf *out;
	int depth;
	unsigned char first[JSON_MAX_DEPTH]; /* no member written yet at this depth */
};

void json_init(struct json *j, struct sbuf *out);
void json_obj_open(struct json *j, const char *key);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j, const char *key);
void json_arr_close(struct json *j);
void json_str(struct json *j, const char *key, const char *val); /* NULL val -> null */
void json_strn(struct json *j, const char *key, const char *val, size_t n);
void json_int(struct json *j, const char *key, int64_t v);
void json_uint(struct json *j, const char *key, uint64_t v);
void json_double(struct json *j, const char *key, double v);   /* non-finite -> null */
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
/* Inserts already-valid JSON text as the value. */
void json_raw(struct json *j, const char *key, const char *json);
/* Appends s as a quoted, escaped JSON string to b. */
void json_escape(struct sbuf *b, const char *s, size_t n);

#endif
