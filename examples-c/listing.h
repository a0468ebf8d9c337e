/* Answers an OPENSHARING_NEED_LIST from a local directory, as every host does: recursive (every file
 * below the key prefix, however deep), sorted by key, only keys after `start_after`, and cut at
 * `max_keys` with the key to continue after. Shared by the C examples.
 *
 * This walk reads the whole subtree, then sorts: fine for an example; an appliance answers from
 * its own index in key order and reads only one page. */
#ifndef OPENSHARING_EXAMPLE_LISTING_H
#define OPENSHARING_EXAMPLE_LISTING_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "opensharing.h"

typedef struct {
  opensharing_object_meta *items;
  size_t len, cap;
} key_list;

static int key_order(const void *a, const void *b) {
  const opensharing_object_meta *x = a, *y = b;
  size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int c = memcmp(x->key, y->key, n);
  return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Appends every regular file below DIR (whose key is KEY_BASE, ending in '/' or empty). */
static void walk_dir(const char *dir, const char *key_base, key_list *out) {
  DIR *d = opendir(dir);
  if (!d) return;
  for (struct dirent *e; (e = readdir(d));) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    size_t path_len = strlen(dir) + strlen(e->d_name) + 2, key_len = strlen(key_base) + strlen(e->d_name) + 2;
    char *path = malloc(path_len), *key = malloc(key_len);
    struct stat st;
    if (!path || !key || snprintf(path, path_len, "%s/%s", dir, e->d_name) < 0 || stat(path, &st) != 0) {
      free(path), free(key);
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      snprintf(key, key_len, "%s%s/", key_base, e->d_name);
      walk_dir(path, key, out);
      free(key);
    } else if (S_ISREG(st.st_mode)) {
      snprintf(key, key_len, "%s%s", key_base, e->d_name);
      if (out->len == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 64;
        opensharing_object_meta *grown = realloc(out->items, cap * sizeof *grown);
        if (!grown) {
          free(key), free(path);
          break;
        }
        out->items = grown, out->cap = cap;
      }
      out->items[out->len++] = (opensharing_object_meta){(const uint8_t *)key, strlen(key), (uint64_t)st.st_size, (int64_t)st.st_mtime * 1000};
    } else {
      free(key);
    }
    free(path);
  }
  closedir(d);
}

/* Answers the LIST need NEED from the store rooted at ROOT. */
static opensharing_result supply_dir_listing(opensharing_exchange *ex, const char *root, const opensharing_need *need) {
  const char *prefix = (const char *)need->key.ptr;
  size_t base_len = need->key.len;
  while (base_len > 0 && prefix[base_len - 1] != '/') base_len--;
  char *base = strndup(prefix, base_len), *dir = malloc(strlen(root) + base_len + 2);
  struct stat st;
  key_list all = {0};
  int found = base && dir && sprintf(dir, "%s/%s", root, base) > 0 && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
  if (found) walk_dir(dir, base, &all);
  free(base);
  free(dir);
  if (!found) return opensharing_exchange_supply_not_found(ex, need->id);
  size_t kept = 0;
  for (size_t i = 0; i < all.len; i++) {
    opensharing_object_meta m = all.items[i];
    int in_prefix = m.key_len >= need->key.len && memcmp(m.key, need->key.ptr, need->key.len) == 0;
    opensharing_object_meta after = {need->start_after.ptr, need->start_after.len, 0, 0};
    if (in_prefix && (!need->has_start_after || key_order(&m, &after) > 0)) all.items[kept++] = m;
    else free((void *)m.key);
  }
  qsort(all.items, kept, sizeof *all.items, key_order);
  size_t count = need->has_max_keys && kept > need->max_keys ? need->max_keys : kept;
  const opensharing_object_meta *last = count < kept && count > 0 ? &all.items[count - 1] : NULL;
  opensharing_result r = opensharing_exchange_supply_listing_page(ex, need->id, all.items, count, last ? last->key : NULL, last ? last->key_len : 0);
  for (size_t i = 0; i < kept; i++) free((void *)all.items[i].key);
  free(all.items);
  return r;
}

#endif
