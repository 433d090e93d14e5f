/* The traced program of TestUprobeOutOfLineKernel: functions whose first
 * instructions move out of line in different ways, written in assembly
 * so that their bytes are exact (gcc -O2, PIE or -no-pie):
 *   p_endbr   endbr64; lea                 (endbr64 and a lea move)
 *   p_sub     sub $N,%rsp; mov             (a stack frame)
 *   p_canary  sub; mov %fs:0x28,%rax       (the stack protector's load,
 *             a segment prefix; probed at +0 and at +4, the load alone)
 *   p_lea     lea sym(%rip),%rax           (rip-relative)
 *   p_cmpjcc  cmp $N,%rdi; jbe             (a jcc that moves)
 *   p_xor     xor %eax,%eax; test %rdi,%rdi
 *   p_two8    mov; add, where p_pre8 jumps (jmp rel8: another entry
 *             inside the instructions a jmp would displace)
 *   p_two32   the same, p_pre32's jmp rel32 (as gcc's cold parts)
 *   prologues calls N    calls each N times with arguments j, -j, 3j
 *   prologues signals N  calls p_xor N times while a SIGALRM handler
 *                        (every 50 microseconds) calls it too; prints
 *                        the handler's calls
 *   prologues vfork N    a child sharing its memory (clone with CLONE_VM
 *                        and CLONE_VFORK, as posix_spawn) calls p_xor N
 *                        times, then executes "prologues calls N"; then
 *                        the parent calls p_xor N times
 * It prints what the calls returned, summed, and exits 0 when every one
 * returned what it should, else 3. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

__asm__(".text\n"
	".globl p_endbr\n.type p_endbr, @function\np_endbr:\n"
	"\tendbr64\n\tlea 1(%rdi), %rax\n\tret\n.size p_endbr, .-p_endbr\n"
	".globl p_sub\n.type p_sub, @function\np_sub:\n"
	"\tsub $0x18, %rsp\n\tmov %rdi, (%rsp)\n\tmov (%rsp), %rax\n\tadd $0x18, %rsp\n\tadd $2, %rax\n\tret\n.size p_sub, .-p_sub\n"
	".globl p_canary\n.type p_canary, @function\np_canary:\n"
	"\tsub $0x18, %rsp\n\tmov %fs:0x28, %rax\n\tmov %rax, 8(%rsp)\n\tlea 3(%rdi), %rax\n"
	"\tmov 8(%rsp), %rdx\n\tsub %fs:0x28, %rdx\n\tjne 1f\n\tadd $0x18, %rsp\n\tret\n1:\tcall abort@PLT\n.size p_canary, .-p_canary\n"
	".globl p_lea\n.type p_lea, @function\np_lea:\n"
	"\tlea p_counter(%rip), %rax\n\tincq (%rax)\n\tlea 4(%rdi), %rax\n\tret\n.size p_lea, .-p_lea\n"
	".globl p_cmpjcc\n.type p_cmpjcc, @function\np_cmpjcc:\n"
	"\tcmp $0x10, %rdi\n\tjbe 1f\n\tlea 5(%rdi), %rax\n\tret\n1:\tlea 50(%rdi), %rax\n\tret\n.size p_cmpjcc, .-p_cmpjcc\n"
	".globl p_xor\n.type p_xor, @function\np_xor:\n"
	"\txor %eax, %eax\n\ttest %rdi, %rdi\n\tjs 1f\n\tlea 6(%rdi), %rax\n1:\tret\n.size p_xor, .-p_xor\n"
	".globl p_pre8\n.type p_pre8, @function\np_pre8:\n"
	"\tmov %rdi, %rax\n\tadd $10, %rax\n\tjmp .Lp_two8_body\n.size p_pre8, .-p_pre8\n"
	".globl p_two8\n.type p_two8, @function\np_two8:\n"
	"\tmov %rdi, %rax\n.Lp_two8_body:\n\tadd $7, %rax\n\tret\n.size p_two8, .-p_two8\n"
	".globl p_pre32\n.type p_pre32, @function\np_pre32:\n"
	"\tmov %rdi, %rax\n\tadd $20, %rax\n\t.byte 0xe9\n\t.long .Lp_two32_body - . - 4\n.size p_pre32, .-p_pre32\n"
	".globl p_two32\n.type p_two32, @function\np_two32:\n"
	"\tmov %rdi, %rax\n.Lp_two32_body:\n\tadd $8, %rax\n\tret\n.size p_two32, .-p_two32\n"
	".data\n.globl p_counter\n.align 8\np_counter:\n\t.quad 0\n.text\n");

long p_endbr(long), p_sub(long), p_canary(long), p_lea(long), p_cmpjcc(long), p_xor(long);
long p_pre8(long), p_two8(long), p_pre32(long), p_two32(long);
extern long p_counter;

static int bad;
static long sum;

static void check(long got, long want)
{
	if (got != want)
		bad = 1;
	sum += got;
}

static void calls(long x)
{
	check(p_endbr(x), x + 1);
	check(p_sub(x), x + 2);
	check(p_canary(x), x + 3);
	check(p_lea(x), x + 4);
	check(p_cmpjcc(x), (unsigned long)x > 16 ? x + 5 : x + 50);
	check(p_xor(x), x < 0 ? 0 : x + 6);
	check(p_two8(x), x + 7);
	check(p_pre8(x), x + 17);
	check(p_two32(x), x + 8);
	check(p_pre32(x), x + 28);
}

static volatile long handled;

static void on_alarm(int sig)
{
	(void)sig;
	if (p_xor(handled) != handled + 6)
		bad = 1;
	handled++;
}

static long vfork_n;
static char vfork_arg[32];

static int vfork_child(void *arg)
{
	(void)arg;
	for (long j = 0; j < vfork_n; j++)
		if (p_xor(j) != j + 6)
			_exit(3);
	execl("/proc/self/exe", "prologues", "calls", vfork_arg, (char *)NULL);
	_exit(5);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "calls")) {
		long n = atol(argv[2]);
		for (long j = 0; j < n; j++) {
			calls(j);
			calls(-j);
			calls(3 * j);
		}
		if (p_counter != 3 * n)
			bad = 1;
		printf("sum %ld\n", sum);
	} else if (argc >= 3 && !strcmp(argv[1], "signals")) {
		long n = atol(argv[2]);
		struct sigaction sa;
		struct itimerval it = {{0, 50}, {0, 50}}, off = {{0, 0}, {0, 0}};
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		for (long j = 0; j < n; j++)
			check(p_xor(j), j + 6);
		setitimer(ITIMER_REAL, &off, NULL);
		printf("handler %ld\n", handled);
	} else if (argc >= 3 && !strcmp(argv[1], "vfork")) {
		static char stack[64 * 1024];
		int status;
		vfork_n = atol(argv[2]);
		snprintf(vfork_arg, sizeof(vfork_arg), "%ld", vfork_n);
		fflush(stdout);
		pid_t child = clone(vfork_child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
		if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad = 1;
		for (long j = 0; j < vfork_n; j++)
			check(p_xor(j), j + 6);
		printf("parent %ld\n", sum);
	} else {
		fprintf(stderr, "usage: prologues calls N | signals N | vfork N\n");
		return 2;
	}
	return bad ? 3 : 0;
}
