/* A tool's const volatile options, set with waggle run/verify --set: the
 * verifier sees their values (read_mm turns on a read of a field waggle
 * does not provide, refused once reachable). */
#include "core.h"

enum mode { MODE_A = 1, MODE_B = 2 };

const volatile _Bool read_mm = 0;
const volatile int ret = 0;
const volatile enum mode mode = MODE_A;
const volatile char tag[8] = "none";

SEC("tracepoint/syscalls/sys_enter_openat")
int options(void *ctx)
{
	if (read_mm) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		return BPF_CORE_READ(task, mm, start_stack) != 0;
	}
	return ret + mode * 100 + tag[0] * 1000;
}

char LICENSE[] SEC("license") = "GPL";
