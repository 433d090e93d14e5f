// The traced program of the USDT tests (built by the tests with gcc):
// USDT probes in the style of <sys/sdt.h> (Debian: systemtap-sdt-dev),
// with semaphores.
//
//   target THREADS ROUNDS [wait]
//
// Each of THREADS threads (thread 0 is main) fires waggle:tick ROUNDS
// times with its index, the round and the address of a long holding
// index*1000+round; main then fires waggle:gated, which has its own
// semaphore test, five times if the semaphore is set, and prints how many
// times it fired. With "wait", it first prints "ready" and reads a line
// from stdin (so that a tracer can attach), and after "gated N" reads
// another line before it exits (so that the tracer can detach while it
// runs).
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The semaphores: a tracer adds 1 to a probe's while it is attached.
unsigned short waggle_tick_semaphore __attribute__((unused)) __attribute__((section(".probes")));
unsigned short waggle_gated_semaphore __attribute__((unused)) __attribute__((section(".probes")));

long gated_value = -7;
static int rounds;

static void *worker(void *arg) {
	int idx = (int)(long)arg;
	for (int i = 0; i < rounds; i++) {
		volatile long v = (long)idx * 1000 + i;
		DTRACE_PROBE3(waggle, tick, idx, i, &v);
	}
	return NULL;
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: target THREADS ROUNDS [wait]\n");
		return 2;
	}
	int threads = atoi(argv[1]);
	int wait = argc > 3 && strcmp(argv[3], "wait") == 0;
	char line[16];
	rounds = atoi(argv[2]);
	if (wait) {
		printf("ready\n");
		fflush(stdout);
		if (!fgets(line, sizeof line, stdin))
			return 3;
	}
	pthread_t tids[64];
	if (threads > 64)
		threads = 64;
	for (int t = 1; t < threads; t++)
		pthread_create(&tids[t], NULL, worker, (void *)(long)t);
	worker((void *)0L);
	for (int t = 1; t < threads; t++)
		pthread_join(tids[t], NULL);
	int gated = 0;
	for (int i = 0; i < 5; i++) {
		if (waggle_gated_semaphore) {
			gated++;
			DTRACE_PROBE2(waggle, gated, gated_value, -3);
		}
	}
	printf("gated %d\n", gated);
	fflush(stdout);
	if (wait && !fgets(line, sizeof line, stdin))
		return 3;
	return 0;
}
