// waggle profile's default program: on each timer sample of the profiled
// threads, count the sample under its process, its thread's name and the
// IDs of its user and kernel stacks (bpf_get_stackid into the stack trace
// map `stacks`). waggle reads `counts` and `stacks` when the profile ends
// and writes folded stacks, the table of the hottest functions and the
// flame graph from them. The key's layout is the one waggle profile
// reads from any object: a hash map whose key has user_stack_id (and
// optionally pid, kern_stack_id, name) and whose value is a u64 count.
//
// Built by `make` here (clang -O2 -g -target bpf); the object is
// committed and embedded in waggle. TestProfileObjectUpToDate checks it.
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <bpf/bpf_helpers.h>

#define MAX_DEPTH 127

struct sample_key {
	__u32 pid;
	__s32 user_stack_id;
	__s32 kern_stack_id;
	char name[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64[MAX_DEPTH]);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sample_key);
	__type(value, __u64);
} counts SEC(".maps");

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	struct sample_key key = {};
	__u64 one = 1, *count;
	__u64 id = bpf_get_current_pid_tgid();

	if ((__u32)id == 0) // the idle task
		return 0;
	key.pid = id >> 32;
	bpf_get_current_comm(key.name, sizeof(key.name));
	key.user_stack_id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	// waggle has no kernel stacks (-EFAULT); a kernel running this object
	// gives the sample's.
	key.kern_stack_id = bpf_get_stackid(ctx, &stacks, 0);

	count = bpf_map_lookup_elem(&counts, &key);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return 0;
	}
	// Another CPU may have added it meanwhile: then add to its count.
	if (bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST) != 0) {
		count = bpf_map_lookup_elem(&counts, &key);
		if (count)
			__sync_fetch_and_add(count, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
