/* The traced program of the uprobe tests (built with gcc -O0
 * -fno-omit-frame-pointer by the tests):
 *   target threads N    4 threads call work(i, j) for j < N
 *   target fact N K     K calls of the recursive fact(N)
 *   target slow MS      calls work for MS milliseconds, then checks
 *                       every result it got
 *   target wait         calls work(7, j) once every millisecond until
 *                       its standard input closes
 *   target waitthreads  4 threads call work(i, j) every millisecond
 *                       until standard input closes
 *   target libc N       calls libc's strtol on "0" ... "N-1" (base 10)
 *   target block MS     calls blocker(MS), which sleeps MS milliseconds
 *                       and returns MS (a return pending for long)
 *   target bench N      calls work N times (the benchmark's probed loop)
 *   target trap N       executes int3 N times (the benchmark's raw
 *                       ptrace stops: its tracer just continues it)
 *   target shared N     calls readshared N times (it reads and writes a
 *                       global through rip-relative operands)
 *   target tiny N       calls tiny N times (a function shorter than a
 *                       jmp rel32)
 *   target fork N       forks; parent and child call work N times each
 *   target forkexec N   forks; the child executes this program's "bench
 *                       N", the parent calls work N times
 *   target sandboxed    as wait, under a seccomp filter of its own that
 *                       answers an mmap with PROT_EXEC with SIGSYS
 *   target slotcall     as wait; then calls work(7, 42) through the
 *                       first slot of waggle's page of out-of-line code
 *                       (where a signal frame of a thread interrupted
 *                       between the jmp and the slot's int3 returns)
 * It exits 0 when every call returned what it should, else 3. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <stddef.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

long work(long a, long b)
{
	return a * 1000 + b;
}

long fact(long n)
{
	if (n <= 1)
		return 1;
	return n * fact(n - 1);
}

static long shared = 1000;

long readshared(void)
{
	return shared++;
}

/* tiny(x) = x + 1 in 5 bytes: lea 1(%rdi),%rax; ret. */
__asm__(".text\n.globl tiny\n.type tiny, @function\ntiny:\n\tlea 1(%rdi), %rax\n\tret\n.size tiny, .-tiny\n");
long tiny(long x);

long blocker(long ms)
{
	usleep(ms * 1000);
	return ms;
}

/* slot1 is the first slot of waggle's page of out-of-line code (an
 * anonymous r-x page that starts with "waggle xol page"), or NULL. */
static long (*slot1(void))(long, long)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], perms[8];
	unsigned long lo, hi, off, ino;
	unsigned dmaj, dmin;
	long (*slot)(long, long) = NULL;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &lo, &hi, perms, &off, &dmaj, &dmin, &ino) == 7 &&
		    hi - lo == 4096 && !strcmp(perms, "r-xp") && ino == 0 && !memcmp((void *)lo, "waggle xol page", 16))
			slot = (long (*)(long, long))(lo + 64);
	if (f)
		fclose(f);
	return slot;
}

static long n_calls;
static int bad;

static void *worker(void *arg)
{
	long a = (long)arg;
	for (long j = 0; j < n_calls; j++)
		if (work(a, j) != a * 1000 + j)
			__atomic_store_n(&bad, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static volatile int stop_threads;

static void *waiter(void *arg)
{
	long a = (long)arg;
	for (long j = 0; !stop_threads; j++) {
		if (work(a, j) != a * 1000 + j)
			__atomic_store_n(&bad, 1, __ATOMIC_SEQ_CST);
		usleep(1000);
	}
	return NULL;
}

/* sandbox: mmap with PROT_EXEC raises SIGSYS; everything else runs. */
static int sandbox(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "threads")) {
		pthread_t t[4];
		n_calls = atol(argv[2]);
		for (long i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, worker, (void *)i);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
	} else if (argc >= 4 && !strcmp(argv[1], "fact")) {
		long n = atol(argv[2]), k = atol(argv[3]), want = 1;
		for (long i = 2; i <= n; i++)
			want *= i;
		for (long i = 0; i < k; i++)
			if (fact(n) != want)
				bad = 1;
	} else if (argc >= 3 && !strcmp(argv[1], "slow")) {
		double end = now_ms() + atol(argv[2]);
		long j = 0;
		while (now_ms() < end) {
			if (work(j % 10, j) != (j % 10) * 1000 + j || fact(5) != 120)
				bad = 1;
			j++;
			usleep(100);
		}
	} else if (argc >= 2 && (!strcmp(argv[1], "wait") || !strcmp(argv[1], "sandboxed") || !strcmp(argv[1], "slotcall"))) {
		char c;
		if (!strcmp(argv[1], "sandboxed") && sandbox())
			return 6;
		fcntl(0, F_SETFL, O_NONBLOCK);
		for (long j = 0;; j++) {
			if (work(7, j) != 7000 + j)
				bad = 1;
			if (read(0, &c, 1) == 0)
				break;
			usleep(1000);
		}
		if (!strcmp(argv[1], "slotcall")) {
			long (*slot)(long, long) = slot1();
			if (!slot || slot(7, 42) != 7042)
				bad = 1;
		}
	} else if (argc >= 2 && !strcmp(argv[1], "waitthreads")) {
		pthread_t t[4];
		char c;
		for (long i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, waiter, (void *)i);
		while (read(0, &c, 1) > 0)
			;
		stop_threads = 1;
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
	} else if (argc >= 3 && !strcmp(argv[1], "libc")) {
		long n = atol(argv[2]);
		char buf[32];
		for (long j = 0; j < n; j++) {
			snprintf(buf, sizeof(buf), "%ld", j);
			if (strtol(buf, NULL, 10) != j)
				bad = 1;
		}
	} else if (argc >= 3 && !strcmp(argv[1], "block")) {
		long ms = atol(argv[2]);
		if (blocker(ms) != ms)
			bad = 1;
	} else if (argc >= 3 && !strcmp(argv[1], "bench")) {
		long n = atol(argv[2]);
		for (long j = 0; j < n; j++)
			if (work(1, j) != 1000 + j)
				bad = 1;
	} else if (argc >= 3 && !strcmp(argv[1], "trap")) {
		long n = atol(argv[2]);
		for (long j = 0; j < n; j++)
			__asm__ volatile("int3");
	} else if (argc >= 3 && !strcmp(argv[1], "shared")) {
		long n = atol(argv[2]);
		for (long j = 0; j < n; j++)
			if (readshared() != 1000 + j)
				bad = 1;
	} else if (argc >= 3 && !strcmp(argv[1], "tiny")) {
		long n = atol(argv[2]);
		for (long j = 0; j < n; j++)
			if (tiny(j) != j + 1)
				bad = 1;
	} else if (argc >= 3 && (!strcmp(argv[1], "fork") || !strcmp(argv[1], "forkexec"))) {
		long n = atol(argv[2]);
		int status;
		pid_t child = fork();
		if (child < 0)
			return 4;
		if (child == 0 && !strcmp(argv[1], "forkexec")) {
			execl("/proc/self/exe", "target", "bench", argv[2], (char *)NULL);
			_exit(5);
		}
		for (long j = 0; j < n; j++)
			if (work(2, j) != 2000 + j)
				bad = 1;
		if (child == 0)
			_exit(bad ? 3 : 0);
		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad = 1;
	} else {
		fprintf(stderr, "usage: target threads N | fact N K | slow MS | wait | waitthreads | libc N | block MS | bench N | trap N | shared N | tiny N | fork N | forkexec N | sandboxed | slotcall\n");
		return 2;
	}
	printf("done\n");
	return bad ? 3 : 0;
}
