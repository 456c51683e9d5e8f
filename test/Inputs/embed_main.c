/* Embeds a model compiled with kiln-compile --emit=obj --name=addrelu. */
#include "addrelu.h"

#include <stdio.h>

int main(void) {
  float x[ADDRELU_INPUT_0_BYTES / sizeof(float)] = {1, -2, 3, -4, 5, -6};
  float y[ADDRELU_INPUT_1_BYTES / sizeof(float)] = {0.5f, 0.5f, 0.5f};
  float z[ADDRELU_OUTPUT_0_BYTES / sizeof(float)];
  void *buffers[] = {x, y, z};
  addrelu_run(buffers);
  for (int i = 0; i < 6; ++i)
    printf("%g%s", z[i], i < 5 ? " " : "\n");
  return 0;
}
