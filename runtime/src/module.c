/* Modules: loading shared-library artifacts with dlopen, checking their ABI version
 * and signature, and running them on checked buffers. */
#include "internal.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYMBOL_PREFIX "kiln_model"
#define MAX_BUFFERS 8192

typedef void (*kiln_entry_fn)(void **buffers);

struct kiln_module_s {
  void *handle;
  kiln_entry_fn entry;            /* CPU artifacts */
  kiln_cuda_executor_t *cuda;     /* CUDA artifacts */
  kiln_signature_t signature;
  kiln_allocator_t allocator;
};

/* `status` with its message prefixed by the artifact's path. */
static kiln_status_t about(const char *path, kiln_status_t status) {
  if (!status)
    return NULL;
  kiln_status_t wrapped = kiln_make_status(kiln_status_code(status), "%s: %s", path,
                                           kiln_status_message(status));
  kiln_status_free(status);
  return wrapped;
}

kiln_status_t kiln_module_load(const char *path, const kiln_allocator_t *allocator,
                               kiln_module_t **out_module) {
  *out_module = NULL;
  if (!path)
    return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT, "no artifact path given");
  /* dlopen searches the library path for names without a slash; artifacts are files. */
  char local[4096];
  if (!strchr(path, '/') && snprintf(local, sizeof(local), "./%s", path) < (int)sizeof(local))
    path = local;
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return kiln_make_status(KILN_STATUS_NOT_FOUND, "cannot load artifact %s: %s", path, dlerror());
  const int *version = dlsym(handle, SYMBOL_PREFIX "_abi_version");
  const char *signature = dlsym(handle, SYMBOL_PREFIX "_signature");
  kiln_entry_fn entry = (kiln_entry_fn)dlsym(handle, SYMBOL_PREFIX "_run");
  int cuda = dlsym(handle, SYMBOL_PREFIX "_cuda_run") != NULL;
  kiln_status_t status = NULL;
  if (!version || !signature || (!entry && !cuda))
    status = kiln_make_status(KILN_STATUS_INCOMPATIBLE,
                              "%s is not a Kiln artifact (missing " SYMBOL_PREFIX "_* symbols)", path);
  else if (*version != KILN_RUNTIME_ABI_VERSION)
    status = kiln_make_status(KILN_STATUS_INCOMPATIBLE,
                              "%s has artifact ABI version %d; this runtime loads version %d", path,
                              *version, KILN_RUNTIME_ABI_VERSION);
  kiln_module_t *module = NULL;
  if (!status) {
    module = calloc(1, sizeof(*module));
    if (!module)
      status = kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  if (!status)
    status = about(path, kiln_signature_parse(signature, &module->signature));
  if (!status && cuda)
    status = about(path, kiln_cuda_executor_create(handle, path, &module->cuda));
  if (status) {
    if (module)
      kiln_signature_free(&module->signature);
    free(module);
    dlclose(handle);
    return status;
  }
  module->handle = handle;
  module->entry = entry;
  module->allocator = allocator ? *allocator : kiln_allocator_system();
  *out_module = module;
  return NULL;
}

void kiln_module_release(kiln_module_t *module) {
  if (!module)
    return;
  kiln_cuda_executor_release(module->cuda);
  kiln_signature_free(&module->signature);
  dlclose(module->handle);
  free(module);
}

kiln_device_t kiln_module_device(const kiln_module_t *m) {
  return m->cuda ? KILN_DEVICE_CUDA : KILN_DEVICE_CPU;
}

const char *kiln_device_name(kiln_device_t device) {
  return device == KILN_DEVICE_CUDA ? "cuda" : "cpu";
}

kiln_status_t kiln_device_probe(kiln_device_t device) {
  return device == KILN_DEVICE_CUDA ? kiln_cuda_probe() : NULL;
}

kiln_status_t kiln_module_device_time(const kiln_module_t *m, double *out_ms) {
  *out_ms = 0;
  if (!m->cuda)
    return kiln_make_status(KILN_STATUS_NOT_FOUND, "device time is measured for CUDA modules only");
  return kiln_cuda_executor_device_time(m->cuda, out_ms);
}

/* The device address of input (or output) `index` of a CUDA module. */
static kiln_status_t device_address(const kiln_module_t *m, int output, size_t index,
                                    uint64_t *out_address) {
  *out_address = 0;
  size_t count = output ? m->signature.output_count : m->signature.input_count;
  if (!m->cuda)
    return kiln_make_status(KILN_STATUS_NOT_FOUND, "only CUDA modules keep their inputs and "
                                                   "outputs on a device");
  if (index >= count)
    return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT, "%s index %zu out of range (%zu %ss)",
                            output ? "output" : "input", index, count, output ? "output" : "input");
  *out_address = kiln_cuda_executor_io_address(m->cuda, output ? m->signature.input_count + index : index);
  return NULL;
}

kiln_status_t kiln_module_device_input(const kiln_module_t *m, size_t index, uint64_t *out_address) {
  return device_address(m, 0, index, out_address);
}

kiln_status_t kiln_module_device_output(const kiln_module_t *m, size_t index, uint64_t *out_address) {
  return device_address(m, 1, index, out_address);
}

kiln_status_t kiln_module_run_on_device(const kiln_module_t *m) {
  if (!m->cuda)
    return kiln_make_status(KILN_STATUS_NOT_FOUND, "only CUDA modules run on device-resident buffers");
  return kiln_cuda_executor_run(m->cuda, NULL, 0, NULL, 0);
}

size_t kiln_module_input_count(const kiln_module_t *m) { return m->signature.input_count; }
size_t kiln_module_output_count(const kiln_module_t *m) { return m->signature.output_count; }

static void describe(const kiln_signature_entry_t *e, kiln_tensor_info_t *info) {
  info->name = e->name;
  info->dtype = e->dtype;
  info->rank = e->rank;
  info->dims = e->dims;
  info->byte_size = e->byte_size;
}

kiln_status_t kiln_module_input_info(const kiln_module_t *m, size_t index,
                                     kiln_tensor_info_t *out_info) {
  if (index >= m->signature.input_count)
    return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT, "input index %zu out of range (%zu inputs)",
                            index, m->signature.input_count);
  describe(&m->signature.inputs[index], out_info);
  return NULL;
}

kiln_status_t kiln_module_output_info(const kiln_module_t *m, size_t index,
                                      kiln_tensor_info_t *out_info) {
  if (index >= m->signature.output_count)
    return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT,
                            "output index %zu out of range (%zu outputs)", index,
                            m->signature.output_count);
  describe(&m->signature.outputs[index], out_info);
  return NULL;
}

kiln_status_t kiln_module_find_input(const kiln_module_t *m, const char *name, size_t *out_index) {
  for (size_t i = 0; i < m->signature.input_count; ++i)
    if (strcmp(m->signature.inputs[i].name, name) == 0) {
      *out_index = i;
      return NULL;
    }
  return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT, "the model has no input named '%s'", name);
}

/* Checks that `view` holds exactly what `expected` describes. */
static kiln_status_t check(const char *kind, size_t index, const kiln_signature_entry_t *expected,
                           const kiln_buffer_view_t *view) {
  if (view->dtype != expected->dtype)
    return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT, "%s %zu ('%s'): dtype %s, expected %s",
                            kind, index, expected->name, kiln_dtype_name(view->dtype),
                            kiln_dtype_name(expected->dtype));
  int same = view->rank == expected->rank && (view->rank == 0 || view->dims);
  for (size_t d = 0; same && d < view->rank; ++d)
    same = view->dims[d] == expected->dims[d];
  if (!same) {
    char shape[256] = "";
    size_t at = 0;
    for (size_t d = 0; d < expected->rank && at < sizeof(shape) - 24; ++d)
      at += (size_t)snprintf(shape + at, sizeof(shape) - at, "%s%lld", d ? "x" : "",
                             (long long)expected->dims[d]);
    return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT, "%s %zu ('%s'): shape differs, expected [%s]",
                            kind, index, expected->name, shape);
  }
  if (view->byte_size != expected->byte_size || (!view->data && expected->byte_size))
    return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT,
                            "%s %zu ('%s'): buffer holds %zu bytes, expected %zu", kind, index,
                            expected->name, view->byte_size, expected->byte_size);
  return NULL;
}

kiln_status_t kiln_module_run(const kiln_module_t *m, const kiln_buffer_view_t *inputs,
                              size_t input_count, const kiln_buffer_view_t *outputs,
                              size_t output_count) {
  const kiln_signature_t *s = &m->signature;
  if (input_count != s->input_count || output_count != s->output_count)
    return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT,
                            "got %zu inputs and %zu outputs, the model has %zu and %zu",
                            input_count, output_count, s->input_count, s->output_count);
  void *stack[64];
  void **buffers = input_count + output_count <= 64 ? stack
                   : input_count + output_count <= MAX_BUFFERS
                       ? malloc((input_count + output_count) * sizeof(void *))
                       : NULL;
  if (!buffers)
    return kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "too many buffers");
  kiln_status_t status = NULL;
  for (size_t i = 0; !status && i < input_count; ++i) {
    status = check("input", i, &s->inputs[i], &inputs[i]);
    buffers[i] = inputs[i].data;
  }
  for (size_t i = 0; !status && i < output_count; ++i) {
    status = check("output", i, &s->outputs[i], &outputs[i]);
    buffers[input_count + i] = outputs[i].data;
  }
  if (!status && m->cuda)
    status = kiln_cuda_executor_run(m->cuda, inputs, input_count, outputs, output_count);
  else if (!status)
    m->entry(buffers);
  if (buffers != stack)
    free(buffers);
  return status;
}

static kiln_buffer_view_t view_of(kiln_tensor_t *t) {
  kiln_buffer_view_t v = {kiln_tensor_dtype(t), kiln_tensor_rank(t), kiln_tensor_dims(t),
                          kiln_tensor_data(t), kiln_tensor_byte_size(t)};
  return v;
}

kiln_status_t kiln_module_run_tensors(const kiln_module_t *m, kiln_tensor_t *const *inputs,
                                      size_t input_count, kiln_tensor_t **out_outputs) {
  const kiln_signature_t *s = &m->signature;
  if (input_count != s->input_count)
    return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT, "got %zu inputs, the model has %zu",
                            input_count, s->input_count);
  kiln_buffer_view_t *views = calloc(input_count + s->output_count, sizeof(kiln_buffer_view_t));
  if (!views)
    return kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
  kiln_status_t status = NULL;
  for (size_t i = 0; i < input_count; ++i) {
    if (!inputs[i]) {
      status = kiln_make_status(KILN_STATUS_INVALID_ARGUMENT, "input %zu is NULL", i);
      break;
    }
    views[i] = view_of(inputs[i]);
  }
  for (size_t i = 0; !status && i < s->output_count; ++i) {
    const kiln_signature_entry_t *e = &s->outputs[i];
    status = kiln_tensor_create(&m->allocator, e->dtype, e->rank, e->dims, &out_outputs[i]);
    if (!status)
      views[input_count + i] = view_of(out_outputs[i]);
  }
  if (!status)
    status = kiln_module_run(m, views, input_count, views + input_count, s->output_count);
  if (status)
    for (size_t i = 0; i < s->output_count; ++i) {
      kiln_tensor_release(out_outputs[i]);
      out_outputs[i] = NULL;
    }
  free(views);
  return status;
}

void *kiln_dlopen_first(const char *forced, const char *const *candidates, size_t count,
                        const char **opened) {
  if (forced && *forced) {
    *opened = forced;
    return dlopen(forced, RTLD_NOW | RTLD_LOCAL);
  }
  void *library = NULL;
  for (size_t i = 0; !library && i < count; ++i)
    library = dlopen(*opened = candidates[i], RTLD_NOW | RTLD_LOCAL);
  return library;
}
