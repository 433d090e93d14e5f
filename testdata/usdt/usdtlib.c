// A shared library with a USDT probe behind a semaphore, for the tests
// of probes in libraries (built by the tests: gcc -shared -fPIC).
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

unsigned short waggle_libtick_semaphore __attribute__((unused)) __attribute__((section(".probes")));

// waggle_lib_fire fires waggle:libtick(i, n) for i < n while the
// semaphore is set, and returns how many times it fired.
int waggle_lib_fire(int n)
{
	int fired = 0;
	for (int i = 0; i < n; i++) {
		if (waggle_libtick_semaphore) {
			fired++;
			DTRACE_PROBE2(waggle, libtick, i, n);
		}
	}
	return fired;
}
