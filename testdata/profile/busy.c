// A CPU-bound program whose hottest function is known: main calls warm,
// which calls hot, where nearly all of its time goes (a loop of N
// multiply-adds, N the first argument, default 200 million). The
// profiler's tests build it with gcc -O1 -fno-omit-frame-pointer
// -mno-omit-leaf-frame-pointer and expect hot in at least 90 % of the
// samples, under main;warm. With a second argument "fork", it runs the
// loop in a child process too (the children of a profiled command are
// profiled), and with "thread" in a second thread.
//
// hot calls start() so that it is no leaf: gcc gives a leaf function no
// frame of its own whatever the flags, and a frame-pointer walk (the
// kernel's and waggle's) from inside a frameless function misses its
// caller (warm).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long n = 200000000UL;

__attribute__((noinline)) unsigned long start(unsigned long count)
{
	__asm__ volatile("" : "+r"(count));
	return count & 1;
}

__attribute__((noinline)) unsigned long hot(unsigned long count)
{
	unsigned long x = start(count);
	for (unsigned long i = 0; i < count; i++)
		x = x * 31 + i;
	return x;
}

__attribute__((noinline)) unsigned long warm(unsigned long count)
{
	return hot(count) + 1;
}

static void *spin(void *arg)
{
	(void)arg;
	printf("%lu\n", warm(n));
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		n = strtoul(argv[1], NULL, 10);
	const char *mode = argc > 2 ? argv[2] : "";
	if (strcmp(mode, "fork") == 0) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		spin(NULL);
		if (pid == 0)
			return 0;
		waitpid(pid, NULL, 0);
		return 0;
	}
	if (strcmp(mode, "thread") == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, spin, NULL) != 0)
			return 1;
		spin(NULL);
		pthread_join(t, NULL);
		return 0;
	}
	spin(NULL);
	return 0;
}
