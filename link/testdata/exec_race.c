/* exec_race PATH_A PATH_B N: a thread rewrites a path buffer between
 * PATH_A and PATH_B (of the same length), byte by byte, while the main
 * thread runs it N times: vfork, then execve of the buffer in the child,
 * which shares the parent's memory and so the racing thread's writes.
 * It prints how many children exited 0 (PATH_A: a copy of true), 1
 * (PATH_B: a copy of false), otherwise (the exec failed: a half-written
 * path) and were killed.
 *
 * Built by link's TestExecExecveRace with gcc; not an eBPF program.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char buf[4096];
static const char *paths[2];
static volatile int stop;

static void *flip(void *arg)
{
	(void)arg;
	for (unsigned long i = 0; !stop; i++) {
		const char *src = paths[i & 1];
		for (size_t j = 0; src[j]; j++)
			((volatile char *)buf)[j] = src[j];
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4 || strlen(argv[1]) != strlen(argv[2]) || strlen(argv[1]) >= sizeof(buf)) {
		fprintf(stderr, "usage: exec_race PATH_A PATH_B N (paths of one length)\n");
		return 2;
	}
	paths[0] = argv[1];
	paths[1] = argv[2];
	strcpy(buf, argv[1]);
	int n = atoi(argv[3]);
	pthread_t t;
	if (pthread_create(&t, NULL, flip, NULL) != 0)
		return 2;
	int a = 0, b = 0, failed = 0, killed = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = vfork();
		if (pid == 0) {
			char *args[] = {buf, NULL};
			execve(buf, args, environ);
			_exit(126);
		}
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) < 0)
			return 2;
		if (WIFSIGNALED(st))
			killed++;
		else if (WEXITSTATUS(st) == 0)
			a++;
		else if (WEXITSTATUS(st) == 1)
			b++;
		else
			failed++;
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("%d %d %d %d\n", a, b, failed, killed);
	return 0;
}
