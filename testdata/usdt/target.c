// The traced program of the USDT tests (built by the tests with gcc):
// USDT probes in the style of <sys/sdt.h> (Debian: systemtap-sdt-dev),
// with semaphores.
//
//   target THREADS ROUNDS [MODE [BASE]]
//
// Each of THREADS threads (thread 0 is main) fires waggle:tick ROUNDS
// times with its index (from BASE, default 0), the round and the address
// of a long holding index*1000+round; main then fires waggle:gated, which
// has its own semaphore test, five times if the semaphore is set, and
// prints how many times it fired. MODE:
//   run   just that;
//   wait  first print "ready" and read a line from stdin (so that a
//         tracer can attach), and after "gated N" read another line
//         before exiting (so that the tracer can detach while it runs);
//   fork  first fork a child that fires tick as thread BASE+THREADS and
//         gated, prints "child gated N" and exits;
//   exec  first fork a child that executes this program again as one
//         thread numbered BASE+THREADS.
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

// The semaphores: a tracer adds 1 to a probe's while it is attached.
unsigned short waggle_tick_semaphore __attribute__((unused)) __attribute__((section(".probes")));
unsigned short waggle_gated_semaphore __attribute__((unused)) __attribute__((section(".probes")));

long gated_value = -7;
static int rounds;

static int fire_gated(void) {
	int gated = 0;
	for (int i = 0; i < 5; i++) {
		if (waggle_gated_semaphore) {
			gated++;
			DTRACE_PROBE2(waggle, gated, gated_value, -3);
		}
	}
	return gated;
}

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
	const char *mode = argc > 3 ? argv[3] : "run";
	int base = argc > 4 ? atoi(argv[4]) : 0;
	int wait = strcmp(mode, "wait") == 0;
	char line[16];
	rounds = atoi(argv[2]);
	if (strcmp(mode, "fork") == 0 || strcmp(mode, "exec") == 0) {
		char next[16];
		snprintf(next, sizeof next, "%d", base + threads);
		pid_t child = fork();
		if (child == 0) {
			if (strcmp(mode, "exec") == 0) {
				execl(argv[0], argv[0], "1", argv[2], "run", next, (char *)NULL);
				_exit(126);
			}
			worker((void *)(long)(base + threads));
			printf("child gated %d\n", fire_gated());
			fflush(stdout);
			_exit(0);
		}
		int status;
		if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return 4;
	}
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
		pthread_create(&tids[t], NULL, worker, (void *)(long)(base + t));
	worker((void *)(long)base);
	for (int t = 1; t < threads; t++)
		pthread_join(tids[t], NULL);
	printf("gated %d\n", fire_gated());
	fflush(stdout);
	if (wait && !fgets(line, sizeof line, stdin))
		return 3;
	return 0;
}
