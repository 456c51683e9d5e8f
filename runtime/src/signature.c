/* Parser of the signature text artifacts export (see lib/Compiler/Signature.cpp):
 *   kiln-signature 1
 *   input NAME DTYPE RANK D0 D1 ...
 *   output NAME DTYPE RANK D0 D1 ...
 * Names are percent-encoded. Every number is checked; nothing is trusted. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RANK 16
#define MAX_ENTRIES 4096

static char *decode_name(const char *token) {
  size_t n = strlen(token);
  char *out = malloc(n + 1), *w = out;
  if (!out)
    return NULL;
  if (strcmp(token, "%") == 0) {
    *out = 0;
    return out;
  }
  for (size_t i = 0; i < n; ++i) {
    if (token[i] == '%' && i + 2 < n && isxdigit((unsigned char)token[i + 1]) &&
        isxdigit((unsigned char)token[i + 2])) {
      char hex[3] = {token[i + 1], token[i + 2], 0};
      *w++ = (char)strtol(hex, NULL, 16);
      i += 2;
    } else {
      *w++ = token[i];
    }
  }
  *w = 0;
  return out;
}

static int parse_i64(const char *token, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(token, &end, 10);
  if (errno || *end || end == token)
    return -1;
  *out = v;
  return 0;
}

static kiln_status_t parse_line(char *line, kiln_signature_entry_t *entry, int *is_input) {
  char *save = NULL;
  char *kind = strtok_r(line, " ", &save), *name = strtok_r(NULL, " ", &save);
  char *dtype = strtok_r(NULL, " ", &save), *rank_token = strtok_r(NULL, " ", &save);
  int64_t rank;
  if (!kind || !name || !dtype || !rank_token || parse_i64(rank_token, &rank) || rank < 0 ||
      rank > MAX_RANK)
    return kiln_make_status(KILN_STATUS_INCOMPATIBLE, "malformed signature line");
  if (strcmp(kind, "input") && strcmp(kind, "output"))
    return kiln_make_status(KILN_STATUS_INCOMPATIBLE, "unknown signature entry '%s'", kind);
  *is_input = strcmp(kind, "input") == 0;
  if (kiln_dtype_parse(dtype, &entry->dtype))
    return kiln_make_status(KILN_STATUS_INCOMPATIBLE, "unknown dtype '%s' in signature", dtype);
  entry->rank = (size_t)rank;
  entry->dims = calloc(rank ? rank : 1, sizeof(int64_t));
  entry->name = decode_name(name);
  if (!entry->dims || !entry->name)
    return kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
  uint64_t elements = 1;
  for (int64_t d = 0; d < rank; ++d) {
    char *token = strtok_r(NULL, " ", &save);
    int64_t dim;
    if (!token || parse_i64(token, &dim) || dim < 0 ||
        (dim && elements > (UINT64_C(1) << 48) / (uint64_t)dim))
      return kiln_make_status(KILN_STATUS_INCOMPATIBLE, "bad dimension in signature of '%s'",
                              entry->name);
    entry->dims[d] = dim;
    elements *= (uint64_t)dim;
  }
  if (strtok_r(NULL, " ", &save))
    return kiln_make_status(KILN_STATUS_INCOMPATIBLE, "trailing data in signature of '%s'",
                            entry->name);
  entry->byte_size = (size_t)elements * kiln_dtype_size(entry->dtype);
  return NULL;
}

kiln_status_t kiln_signature_parse(const char *text, kiln_signature_t *out) {
  memset(out, 0, sizeof(*out));
  char *copy = strdup(text);
  if (!copy)
    return kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
  out->inputs = calloc(MAX_ENTRIES, sizeof(kiln_signature_entry_t));
  out->outputs = calloc(MAX_ENTRIES, sizeof(kiln_signature_entry_t));
  kiln_status_t status = NULL;
  if (!out->inputs || !out->outputs) {
    status = kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
    goto done;
  }
  char *save = NULL;
  char *line = strtok_r(copy, "\n", &save);
  if (!line || strcmp(line, "kiln-signature 1") != 0) {
    status = kiln_make_status(KILN_STATUS_INCOMPATIBLE, "unknown signature format");
    goto done;
  }
  while ((line = strtok_r(NULL, "\n", &save))) {
    kiln_signature_entry_t entry = {0};
    int is_input = 0;
    status = parse_line(line, &entry, &is_input);
    size_t *count = is_input ? &out->input_count : &out->output_count;
    if (!status && *count >= MAX_ENTRIES)
      status = kiln_make_status(KILN_STATUS_INCOMPATIBLE, "too many signature entries");
    if (status) {
      free(entry.name);
      free(entry.dims);
      goto done;
    }
    (is_input ? out->inputs : out->outputs)[(*count)++] = entry;
  }
  if (!out->output_count)
    status = kiln_make_status(KILN_STATUS_INCOMPATIBLE, "signature lists no outputs");
done:
  free(copy);
  if (status)
    kiln_signature_free(out);
  return status;
}

void kiln_signature_free(kiln_signature_t *signature) {
  for (size_t i = 0; i < signature->input_count; ++i) {
    free(signature->inputs[i].name);
    free(signature->inputs[i].dims);
  }
  for (size_t i = 0; i < signature->output_count; ++i) {
    free(signature->outputs[i].name);
    free(signature->outputs[i].dims);
  }
  free(signature->inputs);
  free(signature->outputs);
  memset(signature, 0, sizeof(*signature));
}
