/* libFuzzer target: the HTTP/1 response parser (see fuzz_h1.h). */
#include "config.h"

#include "fuzz/fuzz_h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_one(data, size, H1_MF_RESP);
	return 0;
}
